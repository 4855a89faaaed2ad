//! Building API Gateway requests for handlers called in-process.

use std::collections::HashMap;

use lambda_http::{Body, Request, RequestExt};
use serde_json::Value;

/// A request to a route such as `/tenants/{tenant_id}`; `{name}` segments are
/// filled from `param` exactly as API Gateway fills path parameters.
#[derive(Debug, Clone)]
pub struct Call {
    method: String,
    route: String,
    params: HashMap<String, String>,
    query: HashMap<String, String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

pub fn call(method: &str, route: &str) -> Call {
    Call {
        method: method.to_owned(),
        route: route.to_owned(),
        params: HashMap::new(),
        query: HashMap::new(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

impl Call {
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.insert(name.to_owned(), value.to_owned());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn api_key(self, key: &str) -> Self {
        self.header("x-api-key", key)
    }

    pub fn json(mut self, value: Value) -> Self {
        self.body = value.to_string().into_bytes();
        self.header("content-type", "application/json")
    }

    pub fn raw_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn build(self) -> Request {
        let mut path = self.route.clone();
        for (name, value) in &self.params {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        let mut builder = http::Request::builder()
            .method(self.method.as_str())
            .uri(&path);
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = if self.body.is_empty() {
            Body::Empty
        } else {
            Body::Binary(self.body)
        };
        let request = match builder.body(body) {
            Ok(request) => request,
            Err(err) => panic!("invalid test request {path}: {err}"),
        };
        request
            .with_path_parameters(self.params)
            .with_query_string_parameters(self.query)
    }
}

/// Status and JSON body of a handler's response.
pub fn parts(response: &lambda_http::Response<Body>) -> (u16, Value) {
    notify_shared::testing::status_and_json(response)
}
