//! HTTP plumbing shared by every API: body parsing, caller identity, ids, tracing, the app.

mod app;
mod caller;
mod input;
mod openapi;
mod path_id;
mod query;
mod trace_layer;

pub use app::{PAGES, V2, into_app};
pub use caller::{AUTHORIZER_ROLE, Caller};
pub use input::{BODY_LIMIT, Input, parse_json, whole_number};
pub use openapi::document_route;
pub use path_id::PathId;
pub use query::{QueryParams, page_size};
pub use trace_layer::TRACE_HEADER;
