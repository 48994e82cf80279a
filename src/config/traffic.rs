//! Takes a stage's `traffic` table, gives a [`Traffic`] shape: a named profile (smoke,
//! ramp, peak, spike, soak) scaled for the stage, an optional target arrival rate, an
//! optional iteration count, and the steps of users over time that the load engine runs.

use super::diagnostic::{Diagnostics, SourceFile};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use toml::Spanned;

/// The shape of load over time.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// A few users for a short while: does anything work at all?
    Smoke,
    /// Users added evenly over `ramp-up`, then held for `duration`.
    #[default]
    Ramp,
    /// Full load almost at once (ramp-up defaults to a tenth of the duration), held.
    Peak,
    /// A fifth of the users, a sudden jump to all of them for a third of the duration,
    /// then back: how the system copes with, and recovers from, a burst.
    Spike,
    /// Like ramp, named for long holds that find leaks and slow degradation.
    Soak,
}

/// The load shape of a stage, after scaling.
#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    /// The profile.
    pub profile: Profile,
    /// Concurrent virtual users at full load (after `scale`).
    pub users: u32,
    /// Time to start all users.
    #[serde(with = "duration_ms")]
    pub ramp_up: Duration,
    /// Time at full load.
    #[serde(with = "duration_ms")]
    pub duration: Duration,
    /// A cap on requests per second across all users (the environment's limit).
    pub max_rps: Option<f64>,
    /// A target arrival rate in requests per second (after `scale`).
    pub rate: Option<f64>,
    /// Iterations per user instead of a duration.
    pub iterations: Option<u32>,
    /// The fraction of the written load this stage runs.
    pub scale: f64,
}

mod duration_ms {
    use serde::Serializer;
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

/// One step of the load engine's plan: move to `users` over `over`, (then the next step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadStep {
    /// Users at the end of the step.
    pub users: u32,
    /// How long the step takes, in whole seconds (the engine's granularity).
    pub seconds: u64,
}

impl Traffic {
    /// The steps of users over time, ending at zero users.
    pub fn steps(&self) -> Vec<LoadStep> {
        let ceil = |d: Duration| d.as_secs_f64().ceil() as u64;
        let hold = ceil(self.duration).max(1);
        let users = self.users;
        let mut steps = match self.profile {
            Profile::Smoke | Profile::Ramp | Profile::Soak => {
                vec![
                    LoadStep {
                        users,
                        seconds: ceil(self.ramp_up),
                    },
                    LoadStep {
                        users,
                        seconds: hold,
                    },
                ]
            }
            Profile::Peak => {
                let ramp = if self.ramp_up.is_zero() {
                    (hold / 10).max(1)
                } else {
                    ceil(self.ramp_up)
                };
                vec![
                    LoadStep {
                        users,
                        seconds: ramp,
                    },
                    LoadStep {
                        users,
                        seconds: hold,
                    },
                ]
            }
            Profile::Spike => {
                let base = (users / 5).max(1);
                let third = (hold / 3).max(1);
                vec![
                    LoadStep {
                        users: base,
                        seconds: ceil(self.ramp_up),
                    },
                    LoadStep {
                        users: base,
                        seconds: third,
                    },
                    LoadStep { users, seconds: 1 },
                    LoadStep {
                        users,
                        seconds: third,
                    },
                    LoadStep {
                        users: base,
                        seconds: 1,
                    },
                    LoadStep {
                        users: base,
                        seconds: hold.saturating_sub(2 * third).max(1),
                    },
                ]
            }
        };
        steps.push(LoadStep {
            users: 0,
            seconds: 0,
        });
        steps
    }

    /// Planned wall time of the load.
    pub fn planned(&self) -> Duration {
        Duration::from_secs(self.steps().iter().map(|s| s.seconds).sum())
    }

    /// The most users at any time.
    pub fn peak_users(&self) -> u32 {
        self.steps().iter().map(|s| s.users).max().unwrap_or(0)
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawTraffic {
    #[serde(default)]
    profile: Profile,
    #[schemars(with = "i64")]
    users: Spanned<i64>,
    #[schemars(with = "Option<String>")]
    ramp_up: Option<Spanned<String>>,
    #[schemars(with = "String")]
    duration: Spanned<String>,
    #[schemars(with = "Option<f64>")]
    max_rps: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    rate: Option<Spanned<f64>>,
    #[schemars(with = "Option<u32>")]
    iterations: Option<Spanned<u32>>,
    #[schemars(with = "Option<f64>")]
    scale: Option<Spanned<f64>>,
}

/// Parses and checks a traffic table.
pub(super) fn parse(
    file: &SourceFile,
    raw: &RawTraffic,
    diagnostics: &mut Diagnostics,
) -> Option<Traffic> {
    let before = diagnostics.0.len();
    let duration_of = |text: &Spanned<String>, diagnostics: &mut Diagnostics| {
        super::units::duration_field(file, text, "30s` or `2m", diagnostics)
    };
    let ramp_up = match &raw.ramp_up {
        Some(r) => duration_of(r, diagnostics),
        None => Some(Duration::ZERO),
    };
    let duration = duration_of(&raw.duration, diagnostics);
    if duration == Some(Duration::ZERO) {
        diagnostics.push(file.diagnostic(
            raw.duration.span(),
            "a stage that runs for no time measures nothing",
            Some("a duration above zero".into()),
        ));
    }
    let max_users = super::environment::MAX_USERS;
    if *raw.users.get_ref() < 1 {
        diagnostics.push(file.diagnostic(
            raw.users.span(),
            "`users` must be at least 1",
            Some("a whole number of 1 or more".into()),
        ));
    } else if *raw.users.get_ref() > i64::from(max_users) {
        diagnostics.push(file.diagnostic(
            raw.users.span(),
            format!("{} users is out of range", raw.users.get_ref()),
            Some(format!("a whole number from 1 to {max_users}")),
        ));
    }
    let positive = |value: &Option<Spanned<f64>>, name: &str, diagnostics: &mut Diagnostics| {
        if let Some(v) = value {
            let max = super::environment::MAX_RPS;
            if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) {
                diagnostics.push(file.diagnostic(
                    v.span(),
                    format!("`{name}` must be positive"),
                    Some("a number above 0".into()),
                ));
            } else if *v.get_ref() > max {
                diagnostics.push(file.diagnostic(
                    v.span(),
                    format!("`{name}` is out of range"),
                    Some(format!("a number above 0 and at most {max}")),
                ));
            }
        }
    };
    positive(&raw.max_rps, "max-rps", diagnostics);
    positive(&raw.rate, "rate", diagnostics);
    if let Some(scale) = &raw.scale {
        if !(*scale.get_ref() > 0.0 && *scale.get_ref() <= 1.0) {
            diagnostics.push(file.diagnostic(
                scale.span(),
                "`scale` is the fraction of the load this stage runs",
                Some("a number above 0 and at most 1, such as `0.25`".into()),
            ));
        }
    }
    if let (Some(rate), Some(cap)) = (&raw.rate, &raw.max_rps) {
        if rate.get_ref() > cap.get_ref() {
            diagnostics.push(file.diagnostic(
                rate.span(),
                format!(
                    "a target rate of {}/s above the stage's own cap of {}/s can never be reached",
                    rate.get_ref(),
                    cap.get_ref()
                ),
                Some("`rate` at most `max-rps`".into()),
            ));
        }
    }
    if let Some(i) = raw.iterations.as_ref().filter(|i| *i.get_ref() == 0) {
        diagnostics.push(file.diagnostic(
            i.span(),
            "`iterations` must be at least 1",
            Some("a whole number of 1 or more".into()),
        ));
    }
    if diagnostics.0.len() > before {
        return None;
    }
    let scale = raw.scale.as_ref().map_or(1.0, |s| *s.get_ref());
    // Scaling rounds users up: a trial of a 3-user profile at 0.1 still runs one user.
    let users = ((*raw.users.get_ref() as f64 * scale).ceil() as u32).max(1);
    Some(Traffic {
        profile: raw.profile,
        users,
        ramp_up: ramp_up.unwrap_or_default(),
        duration: duration.unwrap_or_default(),
        max_rps: raw.max_rps.as_ref().map(|r| *r.get_ref()),
        rate: raw.rate.as_ref().map(|r| r.get_ref() * scale),
        iterations: raw.iterations.as_ref().map(|i| *i.get_ref()),
        scale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(profile: Profile, users: u32, ramp: u64, hold: u64) -> Traffic {
        Traffic {
            profile,
            users,
            ramp_up: Duration::from_secs(ramp),
            duration: Duration::from_secs(hold),
            max_rps: None,
            rate: None,
            iterations: None,
            scale: 1.0,
        }
    }

    #[test]
    fn profiles_shape_users_over_time() {
        let ramp = traffic(Profile::Ramp, 20, 5, 60);
        assert_eq!(
            ramp.steps(),
            vec![
                LoadStep {
                    users: 20,
                    seconds: 5
                },
                LoadStep {
                    users: 20,
                    seconds: 60
                },
                LoadStep {
                    users: 0,
                    seconds: 0
                }
            ]
        );
        assert_eq!(ramp.planned(), Duration::from_secs(65));
        let peak = traffic(Profile::Peak, 20, 0, 60);
        assert_eq!(
            peak.steps()[0],
            LoadStep {
                users: 20,
                seconds: 6
            }
        );
        let spike = traffic(Profile::Spike, 50, 0, 30);
        let users: Vec<u32> = spike.steps().iter().map(|s| s.users).collect();
        assert_eq!(users, vec![10, 10, 50, 50, 10, 10, 0]);
        assert_eq!(spike.peak_users(), 50);
        assert_eq!(spike.planned(), Duration::from_secs(32));
    }
}
