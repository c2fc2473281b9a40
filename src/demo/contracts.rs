//! Energy contracts: quotes, signing, the contract resource and its
//! activation view (processes `contracts` and `activation`). Quotes and
//! contracts belong to the logged-in username.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::api::{ApiError, JsonBody};
use super::auth::User;
use super::faults::{Mode, Process};
use super::state::{App, Contract, ContractStatus, Quote, Store, new_id, rfc3339};

/// The products a quote can be asked for.
pub const ENERGY_PRODUCTS: [&str; 3] = ["green-energy", "grey-energy", "heat-pump"];

/// The contract routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/quotes", post(create_quote))
        .route("/api/contracts", post(sign_contract))
        .route(
            "/api/contracts/{contract_id}",
            get(get_contract).delete(terminate_contract),
        )
        .route("/api/contracts/{contract_id}/activation", get(activation))
}

/// The monthly price for `product` at `postcode`: 4000 to 9000 cents, the
/// same every time (FNV-1a, so it is stable across builds and platforms).
pub fn quote_price(product: &str, postcode: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in product.bytes().chain([0]).chain(postcode.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    4000 + hash % 5001
}

#[derive(Deserialize)]
struct QuoteRequest {
    product: String,
    postcode: String,
}

async fn create_quote(
    State(app): State<Arc<App>>,
    User(user): User,
    JsonBody(req): JsonBody<QuoteRequest>,
) -> Result<Response, ApiError> {
    if !ENERGY_PRODUCTS.contains(&req.product.as_str()) {
        return Err(ApiError::bad_request(format!(
            "unknown product {:?}; valid products: {}",
            req.product,
            ENERGY_PRODUCTS.join(", ")
        )));
    }
    let postcode = req.postcode.trim();
    if postcode.is_empty() {
        return Err(ApiError::bad_request("postcode must not be empty"));
    }
    let price = quote_price(&req.product, postcode);
    let quote_id = new_id("q");
    let quote = Quote {
        user,
        monthly_price_cents: price,
    };
    app.store().quotes.insert(quote_id.clone(), quote);
    let shown = if app.faults.mode(Process::Contracts) == Some(Mode::WrongData) {
        json!("free")
    } else {
        json!(price)
    };
    let body = json!({"quote_id": quote_id, "product": req.product, "monthly_price_cents": shown});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Deserialize)]
struct SignRequest {
    quote_id: String,
}

async fn sign_contract(
    State(app): State<Arc<App>>,
    User(user): User,
    JsonBody(req): JsonBody<SignRequest>,
) -> Result<Response, ApiError> {
    let mut store = app.store();
    let quote = store
        .quotes
        .get(&req.quote_id)
        .filter(|q| q.user == user)
        .ok_or_else(|| ApiError::not_found("quote", &req.quote_id))?;
    let contract = Contract {
        monthly_price_cents: quote.monthly_price_cents,
        user,
        quote_id: req.quote_id,
        status: ContractStatus::Signed,
        activated_at: None,
        entered: Instant::now(),
    };
    let contract_id = new_id("k");
    store.contracts.insert(contract_id.clone(), contract);
    let body = json!({"contract_id": contract_id, "status": "signed"});
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

fn owned_contract<'a>(
    store: &'a mut Store,
    user: &str,
    contract_id: &str,
) -> Result<&'a mut Contract, ApiError> {
    store
        .contracts
        .get_mut(contract_id)
        .filter(|c| c.user == user)
        .ok_or_else(|| ApiError::not_found("contract", contract_id))
}

async fn get_contract(
    State(app): State<Arc<App>>,
    User(user): User,
    Path(contract_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = app.store();
    let c = owned_contract(&mut store, &user, &contract_id)?;
    Ok(Json(json!({
        "contract_id": contract_id,
        "quote_id": c.quote_id,
        "status": c.status.as_str(),
        "monthly_price_cents": c.monthly_price_cents,
        "activated_at": c.activated_at.map(rfc3339),
    })))
}

async fn terminate_contract(
    State(app): State<Arc<App>>,
    User(user): User,
    Path(contract_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = app.store();
    let c = owned_contract(&mut store, &user, &contract_id)?;
    if c.status != ContractStatus::Terminated {
        c.status = ContractStatus::Terminated;
        c.entered = Instant::now();
    }
    Ok(Json(
        json!({"contract_id": contract_id, "status": "terminated"}),
    ))
}

/// The activation process's view of a contract.
fn activation_status(c: &Contract) -> &'static str {
    match c.status {
        ContractStatus::Signed => "pending",
        ContractStatus::Rejected => "rejected",
        _ if c.activated_at.is_some() => "active",
        _ => "terminated",
    }
}

async fn activation(
    State(app): State<Arc<App>>,
    User(user): User,
    Path(contract_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = app.store();
    let c = owned_contract(&mut store, &user, &contract_id)?;
    Ok(Json(json!({
        "contract_id": contract_id,
        "status": activation_status(c),
        "activated_at": c.activated_at.map(rfc3339),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_price_is_deterministic_and_in_range() {
        let a = quote_price("green-energy", "10115");
        assert_eq!(a, quote_price("green-energy", "10115"));
        assert_ne!(a, quote_price("green-energy", "80331"));
        for postcode in ["10115", "80331", "20095", "", "x"] {
            let p = quote_price("heat-pump", postcode);
            assert!((4000..=9000).contains(&p), "{p}");
        }
    }
}
