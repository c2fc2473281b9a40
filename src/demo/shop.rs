//! The shop: products, carts, checkout and the order resource with its
//! payment and shipment views (processes `catalog`, `orders`, `payment`,
//! `fulfillment`). Carts and orders belong to the `shop_session` cookie.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::api::{ApiError, JsonBody, SESSION_COOKIE, Session, session_cookie};
use super::faults::{Mode, Process};
use super::state::{App, Cart, CartLine, Order, OrderStatus, Store, new_id, rfc3339};

/// One product of the catalog.
#[derive(Debug)]
pub struct Product {
    /// SKU.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Unit price in euro cents.
    pub price_cents: u64,
}

/// The catalog, sorted by price ascending (the order the API lists it in).
pub const PRODUCTS: [Product; 4] = [
    Product {
        id: "sku-1001",
        name: "Espresso beans, 1 kg",
        price_cents: 1299,
    },
    Product {
        id: "sku-1002",
        name: "Ceramic cup set",
        price_cents: 1899,
    },
    Product {
        id: "sku-1003",
        name: "Milk frother",
        price_cents: 2499,
    },
    Product {
        id: "sku-1004",
        name: "Espresso machine",
        price_cents: 18900,
    },
];

const MAX_QUANTITY: u32 = 99;

/// The shop's routes.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/products", get(list_products))
        .route("/api/carts", post(create_cart))
        .route("/api/carts/{cart_id}/items", post(add_item))
        .route("/api/checkout", post(checkout))
        .route(
            "/api/orders/{order_id}",
            get(get_order).delete(cancel_order),
        )
        .route("/api/orders/{order_id}/payment", get(payment))
        .route("/api/orders/{order_id}/shipment", get(shipment))
}

fn product(id: &str) -> Option<&'static Product> {
    PRODUCTS.iter().find(|p| p.id == id)
}

async fn list_products(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let items: Vec<Value> = if app.faults.mode(Process::Catalog) == Some(Mode::WrongData) {
        Vec::new()
    } else {
        PRODUCTS
            .iter()
            .map(|p| json!({"id": p.id, "name": p.name, "price_cents": p.price_cents, "currency": "EUR"}))
            .collect()
    };
    let mut response = Json(json!({"items": items})).into_response();
    if session_cookie(&headers).is_none() {
        let cookie = format!(
            "{SESSION_COOKIE}={}; Path=/; HttpOnly",
            uuid::Uuid::new_v4().simple()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(SET_COOKIE, value);
        }
    }
    response
}

async fn create_cart(State(app): State<Arc<App>>, Session(session): Session) -> Response {
    let cart_id = new_id("c");
    let cart = Cart {
        session,
        lines: Vec::new(),
        order_id: None,
    };
    app.store().carts.insert(cart_id.clone(), cart);
    (StatusCode::CREATED, Json(json!({"cart_id": cart_id}))).into_response()
}

#[derive(Debug, Deserialize)]
struct AddItem {
    product_id: String,
    quantity: u32,
}

async fn add_item(
    State(app): State<Arc<App>>,
    Session(session): Session,
    Path(cart_id): Path<String>,
    JsonBody(item): JsonBody<AddItem>,
) -> Result<Json<Value>, ApiError> {
    if !(1..=MAX_QUANTITY).contains(&item.quantity) {
        return Err(ApiError::bad_request(format!(
            "quantity must be between 1 and {MAX_QUANTITY}"
        )));
    }
    if product(&item.product_id).is_none() {
        return Err(ApiError::not_found("product", &item.product_id));
    }
    let mut store = app.store();
    let cart = owned_cart(&mut store, &session, &cart_id)?;
    if let Some(order_id) = &cart.order_id {
        return Err(ApiError::conflict(format!(
            "cart {cart_id} was already checked out as order {order_id}"
        )));
    }
    match cart
        .lines
        .iter_mut()
        .find(|l| l.product_id == item.product_id)
    {
        Some(line) => line.quantity = (line.quantity + item.quantity).min(MAX_QUANTITY),
        None => cart.lines.push(CartLine {
            product_id: item.product_id,
            quantity: item.quantity,
        }),
    }
    Ok(Json(cart_json(&cart_id, cart)))
}

fn owned_cart<'a>(
    store: &'a mut Store,
    session: &str,
    cart_id: &str,
) -> Result<&'a mut Cart, ApiError> {
    store
        .carts
        .get_mut(cart_id)
        .filter(|c| c.session == session)
        .ok_or_else(|| ApiError::not_found("cart", cart_id))
}

fn cart_json(cart_id: &str, cart: &Cart) -> Value {
    let items: Vec<Value> = cart
        .lines
        .iter()
        .filter_map(|line| {
            let p = product(&line.product_id)?;
            Some(json!({
                "product_id": p.id,
                "name": p.name,
                "quantity": line.quantity,
                "price_cents": p.price_cents,
                "line_total_cents": p.price_cents * u64::from(line.quantity),
            }))
        })
        .collect();
    json!({"cart_id": cart_id, "items": items, "total_cents": cart_total(cart)})
}

fn cart_total(cart: &Cart) -> u64 {
    cart.lines
        .iter()
        .filter_map(|l| Some(product(&l.product_id)?.price_cents * u64::from(l.quantity)))
        .sum()
}

#[derive(Debug, Deserialize)]
struct Checkout {
    cart_id: String,
    card: String,
}

async fn checkout(
    State(app): State<Arc<App>>,
    Session(session): Session,
    JsonBody(req): JsonBody<Checkout>,
) -> Result<Response, ApiError> {
    if req.card.len() != 16 || !req.card.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request("card must be a 16-digit string"));
    }
    if app.faults.mode(Process::Orders) == Some(Mode::WrongData) {
        // The front door says yes but hands back nothing to follow up on.
        return Ok((StatusCode::ACCEPTED, Json(json!({"status": "accepted"}))).into_response());
    }
    let mut store = app.store();
    let cart = owned_cart(&mut store, &session, &req.cart_id)?;
    if let Some(order_id) = &cart.order_id {
        return Err(ApiError::conflict(format!(
            "cart {} was already checked out as order {order_id}",
            req.cart_id
        )));
    }
    if cart.lines.is_empty() {
        return Err(ApiError::conflict(format!("cart {} is empty", req.cart_id)));
    }
    let order_id = new_id("o");
    cart.order_id = Some(order_id.clone());
    let total_cents = cart_total(cart);
    let now = Utc::now();
    let order = Order {
        session,
        status: OrderStatus::Accepted,
        total_cents,
        paid_cents: None,
        tracking_number: None,
        shipped: false,
        entered: Instant::now(),
        created_at: now,
        updated_at: now,
    };
    store.orders.insert(order_id.clone(), order);
    let body = json!({"order_id": order_id, "status": "accepted"});
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

fn owned_order<'a>(
    store: &'a mut Store,
    session: &str,
    order_id: &str,
) -> Result<&'a mut Order, ApiError> {
    store
        .orders
        .get_mut(order_id)
        .filter(|o| o.session == session)
        .ok_or_else(|| ApiError::not_found("order", order_id))
}

async fn get_order(
    State(app): State<Arc<App>>,
    Session(session): Session,
    Path(order_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = app.store();
    let o = owned_order(&mut store, &session, &order_id)?;
    Ok(Json(json!({
        "order_id": order_id,
        "status": o.status.as_str(),
        "total_cents": o.total_cents,
        "paid_cents": o.paid_cents,
        "tracking_number": o.tracking_number,
        "created_at": rfc3339(o.created_at),
        "updated_at": rfc3339(o.updated_at),
    })))
}

async fn cancel_order(
    State(app): State<Arc<App>>,
    Session(session): Session,
    Path(order_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = app.store();
    let o = owned_order(&mut store, &session, &order_id)?;
    if o.status != OrderStatus::Cancelled {
        o.transition(OrderStatus::Cancelled);
    }
    Ok(Json(json!({"order_id": order_id, "status": "cancelled"})))
}

/// The payment process's view of an order.
fn payment_status(o: &Order) -> &'static str {
    match o.status {
        OrderStatus::PaymentDeclined => "declined",
        _ if o.paid_cents.is_some() => "paid",
        OrderStatus::Cancelled => "cancelled",
        _ => "pending",
    }
}

/// The fulfillment process's view of an order.
fn shipment_status(o: &Order) -> &'static str {
    match o.status {
        OrderStatus::Undeliverable => "undeliverable",
        _ if o.shipped => "shipped",
        OrderStatus::Cancelled => "cancelled",
        _ if o.paid_cents.is_some() => "preparing",
        _ => "waiting",
    }
}

async fn payment(
    State(app): State<Arc<App>>,
    Session(session): Session,
    Path(order_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = app.store();
    let o = owned_order(&mut store, &session, &order_id)?;
    Ok(Json(json!({
        "order_id": order_id,
        "status": payment_status(o),
        "amount_cents": o.paid_cents.unwrap_or(o.total_cents),
    })))
}

async fn shipment(
    State(app): State<Arc<App>>,
    Session(session): Session,
    Path(order_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut store = app.store();
    let o = owned_order(&mut store, &session, &order_id)?;
    Ok(Json(json!({
        "order_id": order_id,
        "status": shipment_status(o),
        "tracking_number": o.tracking_number,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_by_price() {
        assert!(PRODUCTS.len() >= 3);
        assert!(
            PRODUCTS
                .windows(2)
                .all(|w| w[0].price_cents <= w[1].price_cents)
        );
    }
}
