//! Customers: search, CRUD, lookup by any identity, timeline.

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{AdminOnly, AnyRole, ApiJson, ApiPath, ApiQuery, Auth};
use super::{AppState, page};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::{
    Channel, ChannelIdentity, Customer, CustomerId, EventKind, NewEvent, PhoneNumber, Segment,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::{CustomerPatch, Identity, NewCustomer, TimelineEntry};

/// A customer to create. Phone numbers may be in any common format; national
/// numbers use the configured default country.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// Display name (required, 1..=200 characters).
    pub name: String,
    /// Phone numbers, any format (`+229 01 97 00 00 01`, `0022901...`, `0197...`).
    #[serde(default)]
    pub phones: Vec<String>,
    /// E-mail addresses.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Ids on digital channels.
    #[serde(default)]
    pub channel_ids: Vec<ChannelIdentity>,
    /// Segment (default `mass`).
    #[serde(default)]
    pub segment: Segment,
    /// Preferred language (BCP 47, e.g. `fr`).
    #[serde(default)]
    pub language: Option<String>,
    /// Free attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// Fields to change; absent fields stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatchInput {
    /// New name.
    pub name: Option<String>,
    /// New phone list (replaces the old one).
    pub phones: Option<Vec<String>>,
    /// New e-mail list.
    pub emails: Option<Vec<String>>,
    /// New channel ids.
    pub channel_ids: Option<Vec<ChannelIdentity>>,
    /// New segment.
    pub segment: Option<Segment>,
    /// New language.
    pub language: Option<String>,
    /// New attributes (replace the old ones).
    pub attributes: Option<BTreeMap<String, String>>,
}

/// Normalise phones to E.164.
///
/// # Errors
/// 422 naming the first bad number.
pub fn parse_phones(raw: &[String], country: &str) -> ApiResult<Vec<PhoneNumber>> {
    raw.iter()
        .map(|p| {
            domain::phone::normalize_e164(p, Some(country)).map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_phone",
                    e.to_string(),
                )
            })
        })
        .collect()
}

/// Check e-mails and lower-case them.
///
/// # Errors
/// 422 naming the first bad address.
pub fn parse_emails(raw: &[String]) -> ApiResult<Vec<String>> {
    raw.iter()
        .map(|e| {
            let e = e.trim().to_lowercase();
            let valid = e.len() <= 254
                && !e.contains(char::is_whitespace)
                && matches!(e.split_once('@'), Some((l, d)) if !l.is_empty() && d.contains('.') && !d.contains('@') && !d.starts_with('.') && !d.ends_with('.'));
            if valid { Ok(e) } else { Err(ApiError::invalid(format!("emails: {e:?} is not an e-mail address"))) }
        })
        .collect()
}

fn check_text(field: &str, v: &str, max: usize) -> ApiResult<()> {
    if v.trim().is_empty() || v.chars().count() > max {
        return Err(ApiError::invalid(format!(
            "{field}: must be 1 to {max} characters"
        )));
    }
    Ok(())
}

fn check_language(lang: &Option<String>) -> ApiResult<()> {
    if let Some(l) = lang
        && (l.is_empty()
            || l.len() > 12
            || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(ApiError::invalid(format!(
            "language: {l:?} is not a BCP 47 tag"
        )));
    }
    Ok(())
}

/// Search query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Text in the name, a phone number or an e-mail (empty: all).
    pub q: Option<String>,
    /// Page size (default 50, max 500).
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

/// Search customers by name, number or e-mail.
#[utoipa::path(get, path = "/api/v1/customers", params(SearchQuery),
    responses((status = 200, body = Vec<Customer>)), tag = "customers", security(("bearer" = [])))]
pub async fn search(
    State(s): State<AppState>,
    _auth: Auth<AnyRole>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Vec<Customer>>> {
    let (limit, offset) = page(q.limit, q.offset, 50, 500);
    let text = q.q.unwrap_or_default();
    // A query that looks like a phone number (digits and separators) is matched
    // on its digits: a whole number in any format finds its E.164 form, a part
    // typed with spaces ("97 55 44") still matches.
    let looks_like_phone = text.chars().filter(char::is_ascii_digit).count() >= 4
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()/".contains(c));
    let text = if looks_like_phone {
        match domain::phone::normalize_e164(&text, Some(&s.settings.phone.default_country)) {
            Ok(p) => p.as_str().to_string(),
            Err(_) => text.chars().filter(char::is_ascii_digit).collect(),
        }
    } else {
        text
    };
    Ok(Json(s.store.search_customers(&text, limit, offset).await?))
}

/// Create a customer.
#[utoipa::path(post, path = "/api/v1/customers", request_body = CustomerInput,
    responses((status = 201, body = Customer), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    tag = "customers", security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    _auth: Auth<AnyRole>,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    check_text("name", &input.name, 200)?;
    check_language(&input.language)?;
    let new = NewCustomer {
        name: input.name,
        phones: parse_phones(&input.phones, &s.settings.phone.default_country)?,
        emails: parse_emails(&input.emails)?,
        channel_ids: input.channel_ids,
        segment: input.segment,
        language: input.language,
        attributes: input.attributes,
    };
    let now = crate::now();
    let c = s.store.create_customer(&new, now).await?;
    s.store
        .append_events(&[NewEvent::new(now, EventKind::CustomerCreated).with_customer(c.id)])
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// One customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", params(("id" = i64, Path, description = "customer id")),
    responses((status = 200, body = Customer), (status = 404, body = ErrorBody)), tag = "customers", security(("bearer" = [])))]
pub async fn get_one(
    State(s): State<AppState>,
    _auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Customer>> {
    s.store
        .get_customer(CustomerId(id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("customer {id} not found")))
}

/// Change a customer.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", params(("id" = i64, Path, description = "customer id")),
    request_body = CustomerPatchInput,
    responses((status = 200, body = Customer), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    tag = "customers", security(("bearer" = [])))]
pub async fn update(
    State(s): State<AppState>,
    _auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(p): ApiJson<CustomerPatchInput>,
) -> ApiResult<Json<Customer>> {
    if let Some(n) = &p.name {
        check_text("name", n, 200)?;
    }
    check_language(&p.language)?;
    let country = &s.settings.phone.default_country;
    let patch = CustomerPatch {
        name: p.name,
        phones: p
            .phones
            .as_deref()
            .map(|v| parse_phones(v, country))
            .transpose()?,
        emails: p.emails.as_deref().map(parse_emails).transpose()?,
        channel_ids: p.channel_ids,
        segment: p.segment,
        language: p.language,
        attributes: p.attributes,
    };
    let now = crate::now();
    let c = s.store.update_customer(CustomerId(id), &patch, now).await?;
    s.store
        .append_events(&[NewEvent::new(now, EventKind::CustomerUpdated).with_customer(c.id)])
        .await?;
    Ok(Json(c))
}

/// Delete a customer (admin).
#[utoipa::path(delete, path = "/api/v1/customers/{id}", params(("id" = i64, Path, description = "customer id")),
    responses((status = 204), (status = 404, body = ErrorBody)), tag = "customers", security(("bearer" = [])))]
pub async fn delete(
    State(s): State<AppState>,
    auth: Auth<AdminOnly>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    if s.store.delete_customer(CustomerId(id)).await? {
        tracing::info!(by = %auth.user.username, customer = id, "customer deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("customer {id} not found")))
    }
}

/// Lookup by exactly one identity.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// A phone number in any common format.
    pub phone: Option<String>,
    /// An e-mail address.
    pub email: Option<String>,
    /// A digital channel (`whatsapp`, `messenger`, `instagram`, `webchat`), with `id`.
    pub channel: Option<Channel>,
    /// The id on `channel`.
    pub id: Option<String>,
}

/// Find the customer owning a phone number, an e-mail or a channel id.
#[utoipa::path(get, path = "/api/v1/customers/lookup", params(LookupQuery),
    responses((status = 200, body = Customer), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody)),
    tag = "customers", security(("bearer" = [])))]
pub async fn lookup(
    State(s): State<AppState>,
    _auth: Auth<AnyRole>,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> ApiResult<Json<Customer>> {
    let identity = match (q.phone, q.email, q.channel, q.id) {
        (Some(p), None, None, None) => {
            Identity::Phone(parse_phones(&[p], &s.settings.phone.default_country)?.remove(0))
        }
        (None, Some(e), None, None) => Identity::Email(parse_emails(&[e])?.remove(0)),
        (None, None, Some(channel), Some(id)) => Identity::Channel(ChannelIdentity { channel, id }),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of: phone, email, or channel with id",
            ));
        }
    };
    s.store
        .find_customer_by_identity(&identity)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no customer with that identity"))
}

/// Timeline page query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size (default 20, max 100).
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

/// A page of a customer's timeline.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TimelinePage {
    /// The customer.
    pub customer: Customer,
    /// Interactions on every channel, newest first, each with its events.
    pub items: Vec<TimelineEntry>,
    /// Offset of the next page, if there may be one.
    pub next_offset: Option<i64>,
    /// Field visits at the customer (issue 22), newest first, the latest
    /// 100, on every page.
    pub field_visits: Vec<store::FieldVisit>,
}

/// A customer's journey on every channel, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", params(("id" = i64, Path, description = "customer id"), PageQuery),
    responses((status = 200, body = TimelinePage), (status = 404, body = ErrorBody)), tag = "customers", security(("bearer" = [])))]
pub async fn timeline(
    State(s): State<AppState>,
    _auth: Auth<AnyRole>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<TimelinePage>> {
    let customer = s
        .store
        .get_customer(CustomerId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("customer {id} not found")))?;
    let (limit, offset) = page(q.limit, q.offset, 20, 100);
    let mut items = s
        .store
        .customer_timeline(customer.id, limit, offset)
        .await?;
    for e in &mut items {
        e.interaction = super::recording::public(e.interaction.clone());
    }
    let next_offset = (items.len() as i64 == limit).then_some(offset + limit);
    let field_visits = s.store.customer_field_visits(customer.id, 100).await?;
    Ok(Json(TimelinePage {
        customer,
        items,
        next_offset,
        field_visits,
    }))
}
