//! SLA incidents (issue 19).

use super::*;
use store::IncidentRecord;

fn record(id: i64, state: &str, opened: i64) -> IncidentRecord {
    IncidentRecord {
        id,
        category: "server_crash".into(),
        source: "node".into(),
        state: state.into(),
        opened_at: t(opened),
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        sla_minutes: 60,
        escalations: 0,
        flaps: 0,
    }
}

pub async fn incidents(s: &dyn Store) {
    assert_eq!(s.max_incident_id().await.unwrap(), 0);
    assert!(s.list_incidents(false, 10).await.unwrap().is_empty());

    let first = record(1, "open", 1_000);
    s.save_incident(&first).await.unwrap();
    let mut backup = record(2, "open", 2_000);
    backup.category = "equipment".into();
    backup.source = "backup".into();
    s.save_incident(&backup).await.unwrap();
    assert_eq!(s.max_incident_id().await.unwrap(), 2);
    // Newest first.
    let all = s.list_incidents(false, 10).await.unwrap();
    assert_eq!(all, vec![backup.clone(), first.clone()]);

    // Acknowledged by a user, then an update from the desk without the
    // user keeps who acknowledged.
    let u = s.list_users().await.unwrap()[0].id.0;
    let mut acked = first.clone();
    acked.state = "acknowledged".into();
    acked.acknowledged_at = Some(t(1_500));
    acked.acknowledged_by = Some(u);
    s.save_incident(&acked).await.unwrap();
    let mut escalated = acked.clone();
    escalated.acknowledged_by = None;
    escalated.escalations = 1;
    s.save_incident(&escalated).await.unwrap();
    let got = s.list_incidents(false, 10).await.unwrap();
    assert_eq!(got[1].acknowledged_by, Some(u));
    assert_eq!(got[1].escalations, 1);
    assert_eq!(got[1].state, "acknowledged");

    // Resolved: gone from the unresolved list.
    let mut resolved = backup.clone();
    resolved.state = "resolved".into();
    resolved.resolved_at = Some(t(3_000));
    resolved.resolved_by = Some(u);
    s.save_incident(&resolved).await.unwrap();
    let open = s.list_incidents(true, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, 1);
    assert_eq!(s.list_incidents(false, 1).await.unwrap()[0], resolved);

    // Bad rows are refused.
    assert!(matches!(
        s.save_incident(&record(0, "open", 1)).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.save_incident(&record(3, "closed", 1)).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(s.max_incident_id().await.unwrap(), 2);
}
