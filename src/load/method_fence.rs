//! The load engine's own line against unsafe methods on production. Takes the target
//! (which knows whether it is a production environment) and whether the suite is a
//! declared production write, gives the refusal of each request whose method may
//! change state. The plan already refuses such a suite before any traffic; this second
//! line holds when a plan was built some other way (a library caller, a bug), so an
//! unsafe request never reaches production undeclared.

use crate::http_model::HttpMethod;
use crate::vocabulary::Target;

/// What the engine may not send for one suite: nothing on a test tier or for a declared
/// production write; every method but GET, HEAD and OPTIONS otherwise on production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MethodFence {
    /// The production environment's name.
    environment: String,
    /// The suite's name.
    suite: String,
}

impl MethodFence {
    /// The fence for `suite` on `target`; `None` when every method may be sent.
    /// `production_write` is the suite's written reason when it is a declared write.
    pub(super) fn new(
        suite: &str,
        target: &Target,
        production_write: Option<&str>,
    ) -> Option<MethodFence> {
        let environment = target.production()?;
        // A declared write has a reason; a blank one declares nothing.
        if production_write.is_some_and(|reason| !reason.trim().is_empty()) {
            return None;
        }
        Some(MethodFence {
            environment: environment.to_string(),
            suite: suite.to_string(),
        })
    }

    /// Why a request of `method` is not sent, or `None` when it may be.
    pub(super) fn refusal(&self, method: HttpMethod) -> Option<String> {
        if method.is_safe() {
            return None;
        }
        Some(format!(
            "{method} not sent: environment `{}` is production and suite `{}` is not a declared production write; only GET, HEAD and OPTIONS run there",
            self.environment, self.suite
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [HttpMethod; 7] = [
        HttpMethod::Get,
        HttpMethod::Head,
        HttpMethod::Options,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
    ];

    fn production() -> Target {
        Target::without_secrets("http://127.0.0.1:9").in_production("production")
    }

    #[test]
    fn on_production_only_safe_methods_pass_unless_the_suite_is_a_declared_write() {
        let fence = MethodFence::new("xoa", &production(), None).expect("fenced");
        let refused: Vec<HttpMethod> = ALL
            .into_iter()
            .filter(|m| fence.refusal(*m).is_some())
            .collect();
        assert_eq!(
            refused,
            [
                HttpMethod::Post,
                HttpMethod::Put,
                HttpMethod::Patch,
                HttpMethod::Delete
            ]
        );
        assert_eq!(
            fence.refusal(HttpMethod::Delete).as_deref(),
            Some("DELETE not sent: environment `production` is production and suite `xoa` is not a declared production write; only GET, HEAD and OPTIONS run there")
        );
        // A blank reason is no declaration.
        assert!(MethodFence::new("xoa", &production(), Some("  ")).is_some());
        assert_eq!(
            MethodFence::new("xoa", &production(), Some("dọn hồ sơ TEST-1")),
            None
        );
    }

    #[test]
    fn a_test_tier_target_is_not_fenced() {
        let test = Target::without_secrets("http://127.0.0.1:9");
        assert_eq!(MethodFence::new("xoa", &test, None), None);
    }
}
