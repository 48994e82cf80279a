//! The four-stage pipeline end to end through the binary (issue 2).
