//! Tells when this host's prober stops being able to work (a probe's raw socket cannot be
//! opened: no root, no `CAP_NET_RAW`) and when it works again. Each instance probes with
//! its own sockets, so each host has its own state: the last such event of its host.
//! Looked at when the instance starts and whenever its settings change.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::error::AppError;
use crate::server::alerts::events::{self as alert_events, Event, EventKind};
use crate::server::entities::alert_event;
use crate::server::{db, lease};

/// Records a `prober_unusable` event when `problem` is some and this host's last prober
/// event was not one, a `prober_usable` one when it is none and the last was unusable.
/// Whether it recorded one. A host whose prober has always worked has no event.
pub async fn tell(db: &DatabaseConnection, problem: Option<&str>) -> Result<bool, AppError> {
    tell_for(db, lease::host(), problem).await
}

/// [`tell`] for the host named `host`.
pub async fn tell_for(
    db: &DatabaseConnection,
    host: &str,
    problem: Option<&str>,
) -> Result<bool, AppError> {
    let txn = db::begin_write(db).await?;
    let last = alert_event::Entity::find()
        .filter(alert_event::Column::Source.eq(host))
        .filter(alert_event::Column::Kind.is_in([
            EventKind::ProberUnusable.as_str(),
            EventKind::ProberUsable.as_str(),
        ]))
        .order_by_desc(alert_event::Column::Id)
        .one(&txn)
        .await?;
    let was_unusable = last.is_some_and(|e| e.kind == EventKind::ProberUnusable.as_str());
    if problem.is_some() == was_unusable {
        return Ok(false);
    }
    alert_events::record(&txn, [Event::prober(host, problem)]).await?;
    txn.commit().await?;
    Ok(true)
}
