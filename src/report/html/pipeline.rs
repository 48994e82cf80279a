//! Takes a release's [`ReleaseContext`], gives the four-stage pipeline as HTML: one box
//! per stage in rollout order with its state and latest run.

use super::escape::escape;
use crate::report::context::ReleaseContext;
use crate::report::i18n::Messages;
use std::fmt::Write as _;

/// The pipeline section; `current` marks the stage this page is about.
pub fn pipeline(m: &Messages, context: &ReleaseContext, current: Option<&str>) -> String {
    let mut out = format!(
        r#"<section><h2>{}</h2><ol class="pipeline" id="pipeline">"#,
        escape(m.pipeline)
    );
    for s in &context.stages {
        let here = if current == Some(s.stage.as_str()) {
            " current"
        } else {
            ""
        };
        let run = s
            .run
            .map(|id| format!(r#"<span class="run">{} #{id}</span>"#, escape(m.run)))
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<li class="stage {state}{here}" data-stage="{id}" data-state="{state}"><span class="num">{n}</span><b>{title}</b><code>{id}</code><span class="state">{words}</span>{run}</li>"#,
            state = s.state.as_str(),
            id = s.stage.as_str(),
            n = s.stage.number(),
            title = escape(m.stage_title(s.stage)),
            words = escape(m.state(s.state)),
        );
    }
    out.push_str("</ol></section>");
    out
}
