//! The `ipvet` binary as an admin or a script runs it: real processes.

use app::server::config::DatabaseUrl;
use tokio::process::Command;

use crate::helpers::process::{self, run, sign_in, start_server};
use crate::helpers::TestDb;

/// `ipvet` run in `dir`, where it looks for its config file.
fn ipvet(dir: &std::path::Path, db: &DatabaseUrl) -> Command {
    let mut cmd = process::ipvet(db);
    cmd.current_dir(dir);
    cmd
}

#[tokio::test]
async fn first_start_creates_admin_and_prints_its_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, url) = TestDb::new().await;
    let (mut child, base, before) = start_server(&mut ipvet(dir.path(), &url)).await;
    let line = before
        .iter()
        .find(|l| l.starts_with("Created the first admin"))
        .expect("password line");
    let password = line.rsplit("password: ").next().unwrap().trim();
    assert_eq!(password.len(), 24, "{line}");
    assert_eq!(sign_in(&base, "admin", password).await, 200);
    assert_eq!(
        sign_in(&base, "admin", "admin").await,
        401,
        "no default password"
    );
    child.kill().await.unwrap();

    let (mut child, base, before) = start_server(&mut ipvet(dir.path(), &url)).await;
    assert!(
        before.iter().all(|l| !l.contains("password")),
        "printed again: {before:?}"
    );
    assert_eq!(sign_in(&base, "admin", password).await, 200);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn first_admin_password_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, url) = TestDb::new().await;
    let mut cmd = ipvet(dir.path(), &url);
    cmd.env("IPVET_ADMIN_PASSWORD", "chosen admin password");
    let (mut child, base, before) = start_server(&mut cmd).await;
    assert!(
        before.iter().all(|l| !l.contains("chosen admin password")),
        "{before:?}"
    );
    assert_eq!(sign_in(&base, "admin", "chosen admin password").await, 200);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn user_commands_manage_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, url) = TestDb::new().await;
    let user = |args: &[&str]| {
        let mut cmd = ipvet(dir.path(), &url);
        cmd.arg("user").args(args);
        cmd
    };
    let (code, out, err) = run(
        user(&["add", "bob", "--role", "operator"]),
        "bob's long password\n",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "Added user 'bob' with role operator.");

    let (code, _, err) = run(
        user(&["add", "bob", "--role", "viewer"]),
        "bob's long password\n",
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("A user named 'bob' exists already."), "{err}");

    let (code, _, err) = run(user(&["add", "carl", "--role", "superuser"]), "").await;
    assert_eq!(code, 2, "usage error");
    assert!(err.contains("`superuser` is not a role"), "{err}");

    let (code, _, err) = run(user(&["add", "carl", "--role", "viewer"]), "short\n").await;
    assert_eq!(code, 1);
    assert!(err.contains("at least 12 characters"), "{err}");

    let (code, _, err) = run(user(&["add", "carl", "--role", "viewer"]), "").await;
    assert_eq!(code, 1);
    assert!(err.contains("no password given on stdin"), "{err}");

    let (code, _, err) = run(user(&["passwd", "bob"]), "bob's newer password\n").await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(user(&["passwd", "nobody"]), "some long password\n").await;
    assert_eq!(code, 1);
    assert!(err.contains("There is no user named 'nobody'."), "{err}");

    // The new password works and the old does not, in a running server.
    let mut cmd = ipvet(dir.path(), &url);
    cmd.env("IPVET_ADMIN_PASSWORD", "chosen admin password");
    let (mut child, base, _) = start_server(&mut cmd).await;
    assert_eq!(sign_in(&base, "bob", "bob's long password").await, 401);
    assert_eq!(sign_in(&base, "bob", "bob's newer password").await, 200);

    let (code, out, err) = run(user(&["disable", "bob"]), "").await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "User 'bob' is disabled.");
    assert_eq!(sign_in(&base, "bob", "bob's newer password").await, 401);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn bad_configuration_stops_start_up_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, url) = TestDb::new().await;
    std::fs::write(
        dir.path().join("bad.conf"),
        "# ipvet\nListen 127.0.0.1:0\nBogus 1\n",
    )
    .unwrap();
    let mut cmd = ipvet(dir.path(), &url);
    cmd.args(["--config", "bad.conf", "migrate"]);
    let (code, _, err) = run(cmd, "").await;
    assert_eq!(code, 2);
    assert_eq!(err.trim(), "ipvet: bad.conf:3: unknown directive `Bogus`");

    let mut cmd = ipvet(dir.path(), &url);
    cmd.env("IPVET_SECURE_COOKIES", "maybe").arg("migrate");
    let (code, _, err) = run(cmd, "").await;
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "ipvet: IPVET_SECURE_COOKIES: `maybe` is not on or off"
    );

    let mut cmd = ipvet(dir.path(), &url);
    cmd.args(["--config", "missing.conf", "migrate"]);
    let (code, _, err) = run(cmd, "").await;
    assert_eq!(code, 2);
    assert!(
        err.starts_with("ipvet: missing.conf: cannot read the config file"),
        "{err}"
    );
}

#[tokio::test]
async fn the_default_config_file_is_read_from_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, url) = TestDb::new().await;
    std::fs::write(dir.path().join("ipvet.conf"), "SessionLifetime nonsense\n").unwrap();
    let mut cmd = ipvet(dir.path(), &url);
    cmd.arg("migrate");
    let (code, _, err) = run(cmd, "").await;
    assert_eq!(code, 2);
    assert!(
        err.starts_with("ipvet: ipvet.conf:1: SessionLifetime:"),
        "{err}"
    );
}

#[tokio::test]
async fn migrate_creates_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, url) = TestDb::new().await;
    let mut cmd = ipvet(dir.path(), &url);
    cmd.arg("migrate");
    let (code, out, err) = run(cmd, "").await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "The database is up to date.");
    let db = app::server::db::connect(&url).await.unwrap();
    use sea_orm::EntityTrait;
    assert!(app::server::entities::user::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn token_create_prints_a_secret_once_that_only_its_hash_is_kept_of() {
    use app::model::Role;
    use app::server::entities::api_token;
    use app::server::{admin::users, auth::tokens, db};
    use sea_orm::EntityTrait;

    let (test_db, url) = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let conn = db::connect(&url).await.unwrap();
    db::migrate(&conn).await.unwrap();
    users::create(
        &conn,
        "billing",
        Role::Operator,
        "billing pass phrase 1".into(),
    )
    .await
    .unwrap();

    let mut cmd = ipvet(dir.path(), &url);
    cmd.args(["token", "create", "billing", "--name", "billing system"]);
    let (code, stdout, stderr) = run(cmd, "").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("Token 'billing system' for 'billing' (operator)"),
        "{stderr}"
    );
    let secret = stdout.trim();
    assert!(secret.starts_with(tokens::PREFIX), "{stdout}");

    // Stored as its hash only; the secret authenticates as its user, until revoked.
    let rows = api_token::Entity::find().all(&conn).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].secret_hash, tokens::hash(secret));
    assert_ne!(rows[0].secret_hash, secret);
    let (owner, token) = tokens::authenticate(&conn, secret).await.unwrap().unwrap();
    assert_eq!(
        (owner.name.as_str(), owner.role),
        ("billing", Role::Operator)
    );
    assert!(tokens::list_for(&conn, owner.id).await.unwrap()[0]
        .last_used_at
        .is_some());
    let forged = format!("{}{}", tokens::PREFIX, "0".repeat(64));
    assert!(tokens::authenticate(&conn, &forged)
        .await
        .unwrap()
        .is_none());
    tokens::revoke(&conn, token.id).await.unwrap();
    assert!(tokens::authenticate(&conn, secret).await.unwrap().is_none());
    assert!(tokens::revoke(&conn, token.id).await.is_err());

    // No token for a user that does not exist or is disabled.
    let mut cmd = ipvet(dir.path(), &url);
    cmd.args(["token", "create", "nobody"]);
    let (code, _, stderr) = run(cmd, "").await;
    assert_ne!(code, 0);
    assert!(
        stderr.contains("There is no user named 'nobody'."),
        "{stderr}"
    );
    users::disable_by_name(&conn, "billing").await.unwrap();
    let mut cmd = ipvet(dir.path(), &url);
    cmd.args(["token", "create", "billing"]);
    let (code, _, stderr) = run(cmd, "").await;
    assert_ne!(code, 0);
    assert!(stderr.contains("is disabled"), "{stderr}");
    drop(test_db);
}

#[tokio::test]
async fn token_create_agent_makes_an_agent_of_a_site() {
    use app::server::agents::registry;
    use app::server::db;
    use app::server::entities::{agent, site};
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};

    let (test_db, url) = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let conn = db::connect(&url).await.unwrap();
    db::migrate(&conn).await.unwrap();
    site::ActiveModel {
        name: Set("dc-2".into()),
        description: Set(String::new()),
        created_at: Set(time::OffsetDateTime::now_utc()),
        created_by: Set("tests".into()),
        ..Default::default()
    }
    .insert(&conn)
    .await
    .unwrap();

    let mut cmd = ipvet(dir.path(), &url);
    cmd.args(["token", "create", "--agent", "dc-2", "--name", "rack-14"]);
    let (code, stdout, stderr) = run(cmd, "").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("Agent 'rack-14' of site 'dc-2'"),
        "{stderr}"
    );
    let secret = stdout.trim();
    assert!(registry::is_agent_secret(secret), "{stdout}");
    let rows = agent::Entity::find().all(&conn).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "rack-14");
    assert_eq!(rows[0].created_by, "command line");
    assert_ne!(rows[0].secret_hash, secret);
    assert_eq!(
        registry::lookup(&conn, secret).await.unwrap().map(|a| a.id),
        Some(rows[0].id)
    );
    // Without a name, one is made up; names are unique per site.
    let mut cmd = ipvet(dir.path(), &url);
    cmd.args(["token", "create", "--agent", "dc-2"]);
    let (code, _, stderr) = run(cmd, "").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Agent 'agent-"), "{stderr}");
    let mut cmd = ipvet(dir.path(), &url);
    cmd.args(["token", "create", "--agent", "dc-2", "--name", "rack-14"]);
    let (code, _, stderr) = run(cmd, "").await;
    assert_ne!(code, 0);
    assert!(
        stderr.contains("has an agent named `rack-14` already"),
        "{stderr}"
    );

    // `local` takes no agents; an unknown site is named; a user and --agent at once is
    // refused by the command line itself.
    for (args, said) in [
        (vec!["--agent", "local"], "takes no agents"),
        (vec!["--agent", "dc-9"], "There is no site `dc-9`."),
        (vec!["admin", "--agent", "dc-2"], "cannot be used with"),
    ] {
        let mut cmd = ipvet(dir.path(), &url);
        cmd.args(["token", "create"]).args(&args);
        let (code, _, stderr) = run(cmd, "").await;
        assert_ne!(code, 0, "{args:?}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
    drop(test_db);
}
