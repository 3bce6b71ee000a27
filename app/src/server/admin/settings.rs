//! The live configuration and the config page. The file and the environment are read at
//! start and always win; below them, an admin may save some check settings here, which take
//! effect at once (the check engine is rebuilt and the periodic job re-reads its period).
//! What chooses a program to run, a place to listen or a database is never set from the web.

use std::sync::{Arc, RwLock};

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::error::AppError;
use crate::model::SettingView;
use crate::server::auth::guard::Caller;
use crate::server::check::prober_watch;
use crate::server::config::{Config, Source, DIRECTIVES};
use crate::server::entities::setting;
use crate::server::time_fmt::show;
use crate::server::{admin::audit, db};

/// Directives an admin may change on the config page.
pub const EDITABLE: [&str; 7] = [
    "CheckPeriod",
    "CheckTimeout",
    "CheckConcurrency",
    "PingCount",
    "PingTimeout",
    "DisableIPv6Checking",
    "DisableIpAllocationChecking",
];

/// Why a directive that is not in [`EDITABLE`] is not changed from the web.
fn never_from_web(key: &str) -> &'static str {
    match key {
        "IpCheckerScript" => {
            "it names a program the server runs, which a web form must never choose"
        }
        "DnsResolver" => "it decides where DNS queries go; set it in the config file",
        "Database" | "Listen" => "the server reads it once at start; set it in the config file",
        _ => "it is read at start; set it in the config file",
    }
}

/// The configuration as it stands: the file and environment (`base`) with the saved
/// settings applied where those leave a default.
pub struct Live {
    base: Config,
    current: RwLock<Arc<Config>>,
    /// Woken when a setting changes, so the periodic job re-reads its period.
    pub changed: Notify,
}

impl Live {
    /// A configuration with nothing saved yet.
    pub fn new(base: Config) -> Live {
        Live {
            current: RwLock::new(Arc::new(base.clone())),
            base,
            changed: Notify::new(),
        }
    }

    /// The base configuration with the saved settings read from the database.
    pub async fn load(db: &impl ConnectionTrait, base: Config) -> Result<Live, AppError> {
        let live = Live::new(base);
        let rows = setting::Entity::find().all(db).await?;
        live.install(live.with_saved(&rows));
        Ok(live)
    }

    pub fn current(&self) -> Arc<Config> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn install(&self, config: Config) {
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(config);
    }

    /// `base` with each saved setting applied, unless the file or environment sets it. A
    /// saved value that no longer parses is skipped with a warning.
    fn with_saved(&self, rows: &[setting::Model]) -> Config {
        let mut config = self.base.clone();
        for row in rows {
            let key = EDITABLE.iter().find(|k| k.eq_ignore_ascii_case(&row.key));
            let Some(key) = key else {
                tracing::warn!(key = %row.key, "ignoring a saved setting that is not editable");
                continue;
            };
            if self.base.sources.get(key).is_some_and(Source::is_fixed) {
                continue;
            }
            let source = Source::Saved {
                by: row.updated_by.clone(),
                at: show(row.updated_at),
            };
            if let Err(e) = config.set(key, &row.value, source) {
                tracing::warn!(key = %row.key, cause = %e, "ignoring a saved setting");
            }
        }
        config
    }
}

/// Every directive with its effective value and source, and whether it may be changed here.
pub fn views(config: &Config) -> Vec<SettingView> {
    config
        .effective()
        .into_iter()
        .map(|(key, value, source)| {
            let help = DIRECTIVES
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, h)| h.trim().to_string())
                .unwrap_or_default();
            let read_only_because = if !EDITABLE.contains(&key) {
                Some(format!("Not editable here: {}.", never_from_web(key)))
            } else if source.is_fixed() {
                Some(format!(
                    "Set in {source}, which overrides this page; change it there."
                ))
            } else {
                None
            };
            SettingView {
                key: key.to_string(),
                value,
                source: source.to_string(),
                editable: read_only_because.is_none(),
                read_only_because,
                flag: Config::is_flag(key),
                help,
            }
        })
        .collect()
}

fn editable_key(config: &Config, key: &str) -> Result<&'static str, AppError> {
    let Some(&(known, _)) = DIRECTIVES
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key.trim()))
    else {
        return Err(AppError::BadRequest(format!(
            "There is no setting `{key}`."
        )));
    };
    if !EDITABLE.contains(&known) {
        return Err(AppError::BadRequest(format!(
            "{known} cannot be changed here: {}.",
            never_from_web(known)
        )));
    }
    let source = &config.sources[known];
    if source.is_fixed() {
        return Err(AppError::Conflict(format!(
            "{known} is set in {source}, which overrides this page; change it there."
        )));
    }
    Ok(known)
}

/// `key`'s value as the config file would spell it.
fn shown(config: &Config, key: &str) -> Option<String> {
    config
        .effective()
        .into_iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, v, _)| v)
}

/// Saves `value` for `key` (validated as the config file would be), audits it and puts it
/// into effect.
pub async fn save(caller: &Caller, key: &str, value: &str) -> Result<Vec<SettingView>, AppError> {
    let state = &caller.state;
    let before = state.config();
    let key = editable_key(&before, key)?;
    let value = value.trim();
    // Validate by setting it on a copy: the same parser as the config file.
    let mut probe = (*before).clone();
    probe
        .set(key, value, Source::Default)
        .map_err(|e| AppError::BadRequest(format!("{key}: {e}.")))?;
    let canonical = shown(&probe, key).unwrap_or_default();
    let old = shown(&before, key);
    let txn = db::begin_write(&state.db).await?;
    setting::Entity::insert(setting::ActiveModel {
        key: Set(key.to_string()),
        value: Set(canonical.clone()),
        updated_at: Set(OffsetDateTime::now_utc()),
        updated_by: Set(caller.user.name.clone()),
    })
    .on_conflict(
        OnConflict::column(setting::Column::Key)
            .update_columns([
                setting::Column::Value,
                setting::Column::UpdatedAt,
                setting::Column::UpdatedBy,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    audit::record(&txn, caller, "setting.save", key, old, Some(canonical)).await?;
    txn.commit().await?;
    reload(state).await
}

/// Removes a saved value, so the default applies again.
pub async fn reset(caller: &Caller, key: &str) -> Result<Vec<SettingView>, AppError> {
    let state = &caller.state;
    let before = state.config();
    let key = editable_key(&before, key)?;
    let old = shown(&before, key);
    let txn = db::begin_write(&state.db).await?;
    let removed = setting::Entity::delete_by_id(key.to_string())
        .exec(&txn)
        .await?;
    if removed.rows_affected == 0 {
        return Err(AppError::Conflict(format!(
            "{key} has no saved value; it is at its default."
        )));
    }
    audit::record(&txn, caller, "setting.reset", key, old, None).await?;
    txn.commit().await?;
    reload(state).await
}

/// Re-reads the saved settings and puts them into effect.
pub async fn reload(state: &crate::server::AppState) -> Result<Vec<SettingView>, AppError> {
    let rows = setting::Entity::find().all(&state.db).await?;
    put_into_effect(state, state.settings.with_saved(&rows));
    tell_prober(state).await;
    Ok(views(&state.config()))
}

fn put_into_effect(state: &crate::server::AppState, config: Config) {
    state.checks.reconfigure(&config);
    state.settings.install(config);
    state.settings.changed.notify_one();
}

/// Tells when the prober, as the settings in effect open it, stopped or started being
/// able to work; a failure to tell is logged, the settings stay in effect.
pub async fn tell_prober(state: &crate::server::AppState) {
    let problem = state.checks.checker().prober.problem();
    if let Err(e) = prober_watch::tell(&state.db, problem.as_deref()).await {
        tracing::warn!(cause = %e, "cannot record whether the prober works");
    }
}

/// How often an instance looks for settings saved through another instance.
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Puts into effect, within [`FOLLOW_EVERY`], what was saved or reset through another
/// instance sharing the database. The table holds a few rows, so reading it is cheap.
pub async fn follow_forever(state: crate::server::AppState) {
    let mut tick = tokio::time::interval(FOLLOW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match setting::Entity::find().all(&state.db).await {
            Ok(rows) => {
                let config = state.settings.with_saved(&rows);
                if views(&state.settings.current()) != views(&config) {
                    tracing::info!("settings saved through another instance put into effect");
                    put_into_effect(&state, config);
                    tell_prober(&state).await;
                }
            }
            Err(e) => tracing::warn!(cause = %e, "reading the saved settings failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;

    fn saved(key: &str, value: &str) -> setting::Model {
        setting::Model {
            key: key.into(),
            value: value.into(),
            updated_at: OffsetDateTime::UNIX_EPOCH,
            updated_by: "root".into(),
        }
    }

    #[test]
    fn saved_settings_apply_below_the_file_and_environment() {
        let mut base = Config::default();
        base.apply_file(Path::new("ipvet.conf"), "CheckTimeout 5s\n")
            .unwrap();
        let live = Live::new(base);
        let config = live.with_saved(&[
            saved("CheckTimeout", "30s"),
            saved("CheckPeriod", "10m"),
            saved("IpCheckerScript", "/bin/true"),
            saved("PingCount", "many"),
        ]);
        // The file wins; a saved value fills a default; a non-editable or broken saved
        // value is ignored.
        assert_eq!(config.check_timeout, Duration::from_secs(5));
        assert_eq!(config.check_period, Duration::from_secs(600));
        assert_eq!(config.ip_checker_script, None);
        assert_eq!(config.ping_count, 3);
        let views = views(&config);
        let by_key = |k: &str| views.iter().find(|v| v.key == k).unwrap().clone();
        let period = by_key("CheckPeriod");
        assert_eq!(
            period.source,
            "saved here by root at 1970-01-01 00:00:00 UTC"
        );
        assert!(period.editable);
        let timeout = by_key("CheckTimeout");
        assert!(!timeout.editable);
        assert_eq!(timeout.source, "ipvet.conf:1");
        let listen = by_key("Listen");
        assert!(!listen.editable && !listen.flag);
        assert!(by_key("DisableIPv6Checking").flag);
        let script = by_key("IpCheckerScript");
        assert!(script
            .read_only_because
            .unwrap()
            .contains("a web form must never choose"));
    }
}
