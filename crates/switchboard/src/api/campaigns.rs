//! Outbound message campaigns and opt-outs (SPEC §2.6), for supervisors and
//! admins: create a campaign with its recipients (a list, CSV text, or a
//! customer selection), start, pause and resume it, read its delivery
//! figures; list opt-outs. Sending is the campaign runner's
//! (`messaging::campaigns`).

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth, SupervisorUp};
use super::{AppState, page};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::{Channel, Segment};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::{
    Campaign, CampaignRecipient, CampaignStats, CampaignStatus, CustomerSelection, NewCampaign,
    NewRecipient, OptOut, RecipientState, WhatsappTemplate,
};

/// Default messages per second of a new campaign.
const DEFAULT_RATE: i64 = 10;

/// One recipient given by address.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientInput {
    /// Address on the campaign's channel: a phone number in any common
    /// format (SMS, WhatsApp; national numbers use the default country), an
    /// e-mail address, or a Messenger/Instagram/web chat id.
    pub address: String,
    /// Template fields of this recipient (`{"name": "Awa"}`).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

/// Which customers become recipients.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerFilterInput {
    /// `mass`, `business` or `vip` (all segments when absent).
    #[serde(default)]
    pub segment: Option<String>,
    /// Preferred language (BCP 47).
    #[serde(default)]
    pub language: Option<String>,
}

/// A campaign to create. Give recipients by `recipients`, `csv` and/or
/// `customers` (at least one).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    /// Name (1..=200 characters).
    pub name: String,
    /// `sms`, `whatsapp`, `email`, `messenger`, `instagram` or `webchat`.
    pub channel: String,
    /// Plain text with `{{field}}` placeholders: `name`, `address`, and for
    /// customers `segment`, `language` and their attributes. A recipient
    /// lacking a field is skipped with the error.
    pub template: String,
    /// Messages per second, 1..=1000 (default 10).
    #[serde(default)]
    pub rate_per_s: Option<i64>,
    /// Recipients by address.
    #[serde(default)]
    pub recipients: Vec<RecipientInput>,
    /// Recipients as CSV text: a header line with an `address` column; the
    /// other columns are template fields (`address,name\n+229...,Awa`).
    #[serde(default)]
    pub csv: Option<String>,
    /// Every customer matching this filter who has an address on the channel.
    #[serde(default)]
    pub customers: Option<CustomerFilterInput>,
    /// Start at once (default false: a draft).
    #[serde(default)]
    pub start: bool,
    /// Required for (and only for) `whatsapp`: the approved template sent
    /// (business-initiated WhatsApp messages must be templates); `template`
    /// is then the text kept in the outbox and timeline.
    #[serde(default)]
    pub whatsapp_template: Option<WhatsappTemplate>,
}

/// A campaign with its delivery figures.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    /// The campaign.
    #[serde(flatten)]
    pub campaign: Campaign,
    /// Recipients per state and delivered %.
    pub stats: CampaignStats,
}

/// A recipient address normalised for `channel`, or the reason it is not one.
fn normalise_address(channel: Channel, raw: &str, country: &str) -> Result<String, String> {
    let a = raw.trim();
    match channel {
        Channel::Sms | Channel::Whatsapp => domain::phone::normalize_e164(a, Some(country))
            .map(|p| p.as_str().to_string())
            .map_err(|e| format!("{a:?} is not a phone number ({e})")),
        Channel::Email => super::parse_emails(&[a.to_string()])
            .map(|mut v| v.remove(0))
            .map_err(|_| format!("{a:?} is not an e-mail address")),
        _ if a.is_empty() || a.len() > 256 || a.contains(char::is_whitespace) => {
            Err(format!("{a:?} is not a channel id"))
        }
        _ => Ok(a.to_string()),
    }
}

/// Recipients from CSV text with a header line naming an `address` column.
fn parse_csv(text: &str) -> Result<Vec<RecipientInput>, String> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    let col = headers
        .iter()
        .position(|h| h == "address")
        .ok_or("the header line has no `address` column")?;
    let mut out = Vec::new();
    for (n, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("line {}: {e}", n + 2))?;
        let mut vars = BTreeMap::new();
        for (i, v) in rec.iter().enumerate() {
            if i != col
                && let Some(h) = headers.get(i)
            {
                vars.insert(h.clone(), v.to_string());
            }
        }
        out.push(RecipientInput {
            address: rec.get(col).unwrap_or_default().to_string(),
            vars,
        });
    }
    Ok(out)
}

/// Check everything; the campaign, its recipients and its customer
/// selection, or a 422 listing every bad field (`field: why; ...`).
fn validate(
    input: CampaignInput,
    country: &str,
) -> ApiResult<(
    NewCampaign,
    Vec<NewRecipient>,
    Option<CustomerSelection>,
    bool,
)> {
    let mut errs: Vec<String> = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errs.push("name: must be 1 to 200 characters".into());
    }
    let channel = match Channel::parse(input.channel.trim()) {
        Some(Channel::Voice) => {
            errs.push("channel: voice is not a message channel (use a dialer campaign)".into());
            None
        }
        Some(c @ (Channel::Messenger | Channel::Instagram | Channel::Webchat)) => {
            errs.push(format!(
                "channel: {} cannot carry campaigns (no business-initiated messages outside a conversation); use sms, email or whatsapp",
                c.as_str()
            ));
            None
        }
        Some(c) => Some(c),
        None => {
            let names: Vec<&str> = Channel::ALL
                .iter()
                .filter(|c| **c != Channel::Voice)
                .map(|c| c.as_str())
                .collect();
            errs.push(format!(
                "channel: {:?} is not a channel (one of {})",
                input.channel,
                names.join(", ")
            ));
            None
        }
    };
    if input.template.trim().is_empty() {
        errs.push("template: must not be empty".into());
    } else if let Err(e) = channels::campaign::placeholders(&input.template) {
        errs.push(format!("template: {e}"));
    }
    match (&input.whatsapp_template, channel) {
        (None, Some(Channel::Whatsapp)) => errs.push(
            "whatsapp_template: required for whatsapp campaigns (outside the 24-hour window only approved templates may be sent)".into(),
        ),
        (Some(_), Some(c)) if c != Channel::Whatsapp => {
            errs.push("whatsapp_template: only for whatsapp campaigns".into())
        }
        (Some(t), _) => {
            if t.name.is_empty()
                || !t
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                errs.push(format!(
                    "whatsapp_template.name: {:?} is not a template name (a-z, 0-9, _)",
                    t.name
                ));
            }
            if t.language.trim().is_empty() {
                errs.push("whatsapp_template.language: must not be empty".into());
            }
            for (i, p) in t.params.iter().enumerate() {
                if let Err(e) = channels::campaign::placeholders(p) {
                    errs.push(format!("whatsapp_template.params[{i}]: {e}"));
                }
            }
        }
        _ => {}
    }
    let rate = input.rate_per_s.unwrap_or(DEFAULT_RATE);
    if !(1..=1000).contains(&rate) {
        errs.push(format!("rate_per_s: {rate} is not within 1..=1000"));
    }
    let selection = match input.customers {
        None => None,
        Some(f) => {
            let segment = match f.segment.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(s) => match Segment::parse(s) {
                    Some(seg) => Some(seg),
                    None => {
                        errs.push(format!(
                            "customers.segment: {s:?} is not mass, business or vip"
                        ));
                        None
                    }
                },
            };
            Some(CustomerSelection {
                segment,
                language: f.language.filter(|l| !l.trim().is_empty()),
            })
        }
    };
    let mut given = input.recipients;
    if let Some(text) = &input.csv {
        match parse_csv(text) {
            Ok(mut rows) => given.append(&mut rows),
            Err(e) => errs.push(format!("csv: {e}")),
        }
    }
    if given.is_empty() && selection.is_none() && input.csv.is_none() {
        errs.push("recipients: give `recipients`, `csv` or `customers`".into());
    }
    let mut recipients = Vec::with_capacity(given.len());
    if let Some(ch) = channel {
        let mut bad = 0;
        for (i, r) in given.into_iter().enumerate() {
            match normalise_address(ch, &r.address, country) {
                Ok(address) => recipients.push(NewRecipient {
                    customer_id: None,
                    address,
                    vars: r.vars,
                }),
                Err(e) => {
                    bad += 1;
                    if bad <= 20 {
                        errs.push(format!("recipients[{i}].address: {e}"));
                    }
                }
            }
        }
        if bad > 20 {
            errs.push(format!("recipients: {} more bad addresses", bad - 20));
        }
    }
    match (errs.is_empty(), channel) {
        (true, Some(channel)) => Ok((
            NewCampaign {
                name,
                channel,
                template: input.template,
                rate_per_s: u32::try_from(rate).unwrap_or(1),
                created_by: None,
                whatsapp_template: input.whatsapp_template,
            },
            recipients,
            selection,
            input.start,
        )),
        _ => Err(ApiError::invalid(errs.join("; "))),
    }
}

async fn view(s: &AppState, c: Campaign) -> ApiResult<CampaignView> {
    s.store.sync_campaign_outcomes(c.id, crate::now()).await?;
    let stats = s.store.campaign_stats(c.id).await?;
    Ok(CampaignView { campaign: c, stats })
}

async fn load(s: &AppState, id: i64) -> ApiResult<Campaign> {
    s.store
        .get_campaign(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("campaign {id} not found")))
}

/// Create a campaign with its recipients (a draft unless `start`).
#[utoipa::path(post, path = "/api/v1/campaigns", request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 422, body = ErrorBody, description = "bad fields, each named: `field: why; ...`")),
    tag = "campaigns", security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    ApiJson(input): ApiJson<CampaignInput>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    let (mut new, recipients, selection, start) =
        validate(input, &s.settings.phone.default_country)?;
    new.created_by = Some(auth.user.id);
    let now = crate::now();
    let c = s.store.create_campaign(&new, now).await?;
    let added = s.store.add_recipients(c.id, &recipients, now).await?;
    let selected = match &selection {
        Some(sel) => s.store.add_customer_recipients(c.id, sel, now).await?,
        None => 0,
    };
    tracing::info!(campaign = c.id, channel = c.channel.as_str(), added, selected, by = %auth.user.username, "campaign created");
    let c = if start {
        s.store
            .set_campaign_status(c.id, &[CampaignStatus::Draft], CampaignStatus::Running, now)
            .await?
    } else {
        c
    };
    Ok((StatusCode::CREATED, Json(view(&s, c).await?)))
}

/// Campaigns, newest first, with their figures.
#[utoipa::path(get, path = "/api/v1/campaigns",
    responses((status = 200, body = Vec<CampaignView>)), tag = "campaigns", security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
) -> ApiResult<Json<Vec<CampaignView>>> {
    let mut out = Vec::new();
    for c in s.store.list_campaigns(None).await? {
        out.push(view(&s, c).await?);
    }
    Ok(Json(out))
}

/// One campaign with its delivery figures (recipients per state,
/// delivered %).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", params(("id" = i64, Path, description = "campaign id")),
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody)), tag = "campaigns", security(("bearer" = [])))]
pub async fn get_one(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CampaignView>> {
    let c = load(&s, id).await?;
    Ok(Json(view(&s, c).await?))
}

/// Start a draft campaign, or resume a paused one.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/start", params(("id" = i64, Path, description = "campaign id")),
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "running or done")),
    tag = "campaigns", security(("bearer" = [])))]
pub async fn start(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CampaignView>> {
    let c = s
        .store
        .set_campaign_status(
            id,
            &[CampaignStatus::Draft, CampaignStatus::Paused],
            CampaignStatus::Running,
            crate::now(),
        )
        .await?;
    tracing::info!(campaign = id, by = %auth.user.username, "campaign started");
    Ok(Json(view(&s, c).await?))
}

/// Pause a running campaign: nothing more is queued (messages already in
/// the outbox still go).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/pause", params(("id" = i64, Path, description = "campaign id")),
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "not running")),
    tag = "campaigns", security(("bearer" = [])))]
pub async fn pause(
    State(s): State<AppState>,
    auth: Auth<SupervisorUp>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CampaignView>> {
    let c = s
        .store
        .set_campaign_status(
            id,
            &[CampaignStatus::Running],
            CampaignStatus::Paused,
            crate::now(),
        )
        .await?;
    tracing::info!(campaign = id, by = %auth.user.username, "campaign paused");
    Ok(Json(view(&s, c).await?))
}

/// Recipient list query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecipientQuery {
    /// Only recipients in this state (`pending`, `queued`, `sent`,
    /// `delivered`, `failed`, `opted_out`, `skipped`).
    pub state: Option<RecipientState>,
    /// Page size (default 100, max 1000).
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

/// A campaign's recipients, in the order they were added.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/recipients", params(("id" = i64, Path, description = "campaign id"), RecipientQuery),
    responses((status = 200, body = Vec<CampaignRecipient>), (status = 404, body = ErrorBody)), tag = "campaigns", security(("bearer" = [])))]
pub async fn recipients(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RecipientQuery>,
) -> ApiResult<Json<Vec<CampaignRecipient>>> {
    load(&s, id).await?;
    s.store.sync_campaign_outcomes(id, crate::now()).await?;
    let (limit, offset) = page(q.limit, q.offset, 100, 1000);
    Ok(Json(
        s.store.list_recipients(id, q.state, limit, offset).await?,
    ))
}

/// Opt-out list query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OptOutQuery {
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Page size (default 100, max 1000).
    pub limit: Option<i64>,
    /// Offset.
    pub offset: Option<i64>,
}

/// Addresses that opted out (STOP), newest first.
#[utoipa::path(get, path = "/api/v1/opt-outs", params(OptOutQuery),
    responses((status = 200, body = Vec<OptOut>)), tag = "campaigns", security(("bearer" = [])))]
pub async fn opt_outs(
    State(s): State<AppState>,
    _auth: Auth<SupervisorUp>,
    ApiQuery(q): ApiQuery<OptOutQuery>,
) -> ApiResult<Json<Vec<OptOut>>> {
    let (limit, offset) = page(q.limit, q.offset, 100, 1000);
    Ok(Json(s.store.list_opt_outs(q.channel, limit, offset).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: serde_json::Value) -> CampaignInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_bad_field_is_named() {
        let e = validate(
            input(serde_json::json!({
                "name": "", "channel": "fax", "template": "  ", "rate_per_s": 0,
                "recipients": [{"address": "x"}]
            })),
            "BJ",
        )
        .err()
        .unwrap();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        for f in ["name: ", "channel: \"fax\"", "template: ", "rate_per_s: 0"] {
            assert!(e.message.contains(f), "{f} in {}", e.message);
        }
        let e = validate(
            input(serde_json::json!({
                "name": "n", "channel": "sms", "template": "Bonjour {{name",
                "recipients": [{"address": "+22997000001"}, {"address": "bonjour"}],
                "customers": {"segment": "gold"}
            })),
            "BJ",
        )
        .err()
        .unwrap();
        assert!(
            e.message.contains("template: malformed placeholder"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("recipients[1].address: \"bonjour\""),
            "{}",
            e.message
        );
        assert!(!e.message.contains("recipients[0]"), "{}", e.message);
        assert!(
            e.message.contains("customers.segment: \"gold\""),
            "{}",
            e.message
        );
    }

    #[test]
    fn recipients_from_a_list_and_csv_are_normalised() {
        let (c, r, sel, start) = validate(
            input(serde_json::json!({
                "name": " Relance ", "channel": "sms", "template": "Bonjour {{name}}",
                "recipients": [{"address": "0022997000001", "vars": {"name": "Awa"}}],
                "csv": "Address,Name\n+229 97 00 00 02, Bio\n",
                "start": true
            })),
            "BJ",
        )
        .unwrap();
        assert_eq!(
            (c.name.as_str(), c.rate_per_s, c.channel),
            ("Relance", 10, Channel::Sms)
        );
        assert_eq!(
            r.iter()
                .map(|x| (x.address.as_str(), x.vars["name"].as_str()))
                .collect::<Vec<_>>(),
            [("+22997000001", "Awa"), ("+22997000002", "Bio")]
        );
        assert!(sel.is_none() && start);
        let e = validate(
            input(serde_json::json!({"name": "n", "channel": "email", "template": "t", "csv": "mail\nx@y.z"})),
            "BJ",
        )
        .err()
        .unwrap();
        assert!(
            e.message
                .contains("csv: the header line has no `address` column"),
            "{}",
            e.message
        );
    }
}
