use lambda_http::{service_fn, Error};
use notify_shared::http::run;
use notify_shared::service::webhooks::EventPublisher;
use notify_shared::{telemetry, App};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_for(env!("CARGO_CRATE_NAME"));
    // Config and SDK clients once per cold start, shared by every invocation.
    // API keys' unusual activity goes to the tenant's webhooks.
    let app = &App::from_env()
        .await?
        .with_key_watch(EventPublisher::from_app);
    run(service_fn(move |req| async move {
        Ok::<_, Error>(topic_subscribe::handle(app, req).await)
    }))
    .await
}
