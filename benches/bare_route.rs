//! A bare actix-web server with one route, as a yardstick for the CPU a
//! request costs in the service itself (benches/ingest.sh compares it with
//! GET /healthz). Serves on BARE_ROUTE_BIND (default 127.0.0.1:18183) until
//! killed.

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::var("BARE_ROUTE_BIND").unwrap_or_else(|_| "127.0.0.1:18183".into());
    HttpServer::new(|| {
        App::new().route(
            "/",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(r#"{"status":"ok"}"#)
            }),
        )
    })
    .bind(bind)?
    .run()
    .await
}
