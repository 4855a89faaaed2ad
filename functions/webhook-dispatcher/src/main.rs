use lambda_runtime::{run, service_fn, Error};
use notify_shared::service::webhooks::dispatch::Dispatcher;
use notify_shared::{telemetry, App};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_for(env!("CARGO_CRATE_NAME"));
    // Config, SDK clients and the sender's TLS once per cold start; webhook
    // secrets are cached across invocations.
    let app = App::from_env().await?;
    let dispatcher = &Dispatcher::from_app(&app)?;
    run(service_fn(move |event| {
        webhook_dispatcher::handle(dispatcher, event)
    }))
    .await
}
