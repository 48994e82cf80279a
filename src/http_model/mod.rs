//! The HTTP vocabulary every request-sending part shares, below `config`, `load` and
//! `security` in the pipeline: the request model of a load step, a probe and a probe's
//! setup step ([`RequestSpec`]), the one extractor that takes values out of a response
//! ([`extract()`]), what a response looked like ([`ObservedResponse`]), and the origin
//! fence ([`Origin`]) that keeps every request — and the credentials it carries — on
//! the environment's scheme, host and port.

pub mod certificate;
mod extract;
pub mod failure;
mod json_select;
mod method;
pub mod origin;
mod request;
mod response;

pub use extract::{extract, Extraction, RegexPattern};
pub use json_select::{JsonPathQuery, JsonPointer};
pub use method::HttpMethod;
pub use origin::{Origin, OriginError};
pub use request::{JsonTemplate, RenderedBody, RenderedRequest, RequestBody, RequestSpec};
pub use response::ObservedResponse;
