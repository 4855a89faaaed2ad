//! The HTTP edge shared by every endpoint: reading requests and writing the
//! contract's responses.

pub mod request;
pub mod response;
pub mod runtime;

pub use lambda_http::{Body, Request, Response};
pub use request::{
    header, json_body, optional_path_param, path_param, percent_decode_once, query_param,
    request_id, single_header,
};
pub use response::{error_response, json_response, respond, respond_to};
pub use runtime::run;
