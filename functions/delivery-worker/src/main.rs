use lambda_runtime::{run, service_fn, Error};
use notify_shared::service::delivery::Delivery;
use notify_shared::service::worker::{Worker, WorkerSettings};
use notify_shared::{telemetry, App};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_for(env!("CARGO_CRATE_NAME"));
    // Config, SDK clients and provider connections once per cold start;
    // tenant credentials are cached across invocations.
    let app = App::from_env().await?;
    let delivery = Delivery::from_app(&app)?;
    // It enqueues: without a delivery queue it does not start.
    app.config.delivery_queue()?;
    let settings = WorkerSettings::from_config(&app.config);
    let worker = &Worker::new(app, delivery, settings);
    run(service_fn(move |event| {
        delivery_worker::handle(worker, event)
    }))
    .await
}
