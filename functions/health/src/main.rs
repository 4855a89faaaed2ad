use lambda_http::{service_fn, Error};
use notify_shared::http::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    notify_shared::telemetry::init_for(env!("CARGO_CRATE_NAME"));
    run(service_fn(|req| async {
        Ok::<_, Error>(health::handle(req).await)
    }))
    .await
}
