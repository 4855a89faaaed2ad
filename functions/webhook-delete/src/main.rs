use lambda_http::{service_fn, Error};
use notify_shared::http::run;
use notify_shared::{telemetry, App};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_for(env!("CARGO_CRATE_NAME"));
    // Config and SDK clients once per cold start, shared by every invocation.
    let app = &App::from_env().await?;
    run(service_fn(move |req| async move {
        Ok::<_, Error>(webhook_delete::handle(app, req).await)
    }))
    .await
}
