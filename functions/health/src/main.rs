use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    notify_shared::telemetry::init();
    run(service_fn(|req| async {
        Ok::<_, Error>(health::handle(req).await)
    }))
    .await
}
