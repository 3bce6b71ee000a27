//! The Users page's server functions (admin): create, set role, disable, reset password.

use app::model::Role;
use sea_orm::EntityTrait;
use serde_json::json;

use crate::helpers::{assert_signed_in, error_of, TestApp};

async fn id_of(app: &TestApp, name: &str) -> String {
    app::server::admin::users::find_by_name(&app.state.db, name)
        .await
        .unwrap()
        .id
        .to_string()
}

#[tokio::test]
async fn admin_creates_an_operator_who_can_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let res = app
        .call(
            &admin,
            "/api/users/create",
            &[
                ("name", "olga"),
                ("role", "operator"),
                ("password", "olga's long password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let created: serde_json::Value = res.json().await.unwrap();
    assert_eq!(created["name"], "olga");
    assert_eq!(created["role"], "operator");
    assert!(created.get("password_hash").is_none());

    let olga = app.client();
    assert_signed_in(&app.login(&olga, "olga", "olga's long password").await);
    assert_eq!(app.whoami(&olga).await.as_deref(), Some("olga"));

    let list: serde_json::Value = app
        .call(&admin, "/api/users/list", &[])
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["olga", "root"]);
    assert!(
        !list.to_string().contains("argon2"),
        "no hash may leave the server"
    );
}

#[tokio::test]
async fn bad_input_is_answered_clearly() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let create = |name: &'static str, role: &'static str, password: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            app.call(
                admin,
                "/api/users/create",
                &[("name", name), ("role", role), ("password", password)],
            )
            .await
        }
    };
    let (status, body) = error_of(create("olga", "operator", "short").await).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"BadRequest": "The password must have at least 12 characters."})
        )
    );
    let (status, body) =
        error_of(create("bad name", "operator", "long enough password").await).await;
    assert_eq!(status, 400);
    assert!(body["BadRequest"]
        .as_str()
        .unwrap()
        .starts_with("A user name has 1 to 64 characters"));
    let (status, body) = error_of(create("olga", "superuser", "long enough password").await).await;
    assert_eq!(status, 400, "an unknown role is bad input: {body}");
    assert!(
        body["BadRequest"]
            .as_str()
            .unwrap()
            .starts_with("Malformed request"),
        "{body}"
    );
    let (status, body) = error_of(create("root", "viewer", "long enough password").await).await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"Conflict": "A user named 'root' exists already."})
        )
    );
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/users/set_role",
            &[("user_id", "99999"), ("role", "viewer")],
        )
        .await;
    assert_eq!(
        (status, body),
        (404, json!({"NotFound": "There is no user with id 99999."}))
    );
}

/// An admin resets `name`'s password to `password` on the Users page.
async fn reset_password(app: &TestApp, admin: &reqwest::Client, name: &str, password: &str) {
    let id = id_of(app, name).await;
    let res = app
        .call(
            admin,
            "/api/users/reset_password",
            &[("user_id", &id), ("password", password)],
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn password_reset_replaces_the_old_password() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let old = app.add_user("olga", Role::Operator).await;
    reset_password(&app, &admin, "olga", "brand new password").await;
    assert_eq!(app.login(&app.client(), "olga", &old).await.status(), 401);
    assert_signed_in(&app.login(&app.client(), "olga", "brand new password").await);
}

/// A reset password used to leave the user's other sessions alive (an old cookie still
/// worked): a reset ends every session of the user and revokes the user's API tokens,
/// since whatever was reached with the old password can no longer be trusted.
#[tokio::test]
async fn a_password_reset_ends_the_users_sessions_and_revokes_their_tokens() {
    use app::server::admin::users;
    use app::server::auth::tokens;
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let olga = app.signed_in("olga", Role::Operator).await;
    let user = users::find_by_name(&app.state.db, "olga").await.unwrap();
    let secret = tokens::create(&app.state.db, &user, "provisioning")
        .await
        .unwrap()
        .secret;
    assert_eq!(api_status(&app, &secret).await, 200);
    assert_eq!(
        app.call(&olga, "/api/networks/list", &[]).await.status(),
        200
    );

    reset_password(&app, &admin, "olga", "brand new password").await;
    assert_eq!(
        app.call(&olga, "/api/networks/list", &[]).await.status(),
        401
    );
    assert_eq!(api_status(&app, &secret).await, 401);
    // The admin's own session is untouched, and the new password signs in.
    assert_eq!(
        app.call(&admin, "/api/networks/list", &[]).await.status(),
        200
    );
    let again = app.client();
    assert_signed_in(&app.login(&again, "olga", "brand new password").await);
    assert_eq!(
        app.call(&again, "/api/networks/list", &[]).await.status(),
        200
    );
    let (_, audit) = app
        .call_fn(
            &admin,
            "/api/audit/list",
            &[("action", "user.reset_password")],
        )
        .await;
    assert_eq!(
        audit["entries"][0]["after"], "sessions ended, 1 API token(s) revoked",
        "{audit}"
    );
}

/// The session cookie a response set, as a `Cookie` header value.
/// What the REST API answers a request with the token `secret`.
async fn api_status(app: &TestApp, secret: &str) -> u16 {
    crate::helpers::http_client(&app.base)
        .build()
        .unwrap()
        .get(format!("{}/api/v1/networks", app.base))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("ipvet_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string()
}

/// A user changes their own password: the session they used stays signed in (under a new
/// id), every other session of theirs ends, their API tokens keep working, and only the new
/// password signs in. A wrong current password, a bad new one or a mistyped repetition
/// changes nothing, and a stolen session cannot guess the current password forever.
#[tokio::test]
async fn changing_ones_own_password_ends_only_the_other_sessions() {
    use app::server::auth::throttle::LOCK_AFTER;
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let old = app.add_user("olga", Role::Viewer).await;
    let here = app.client();
    let signed_in = app.login(&here, "olga", &old).await;
    assert_signed_in(&signed_in);
    let old_cookie = session_cookie(&signed_in);
    let elsewhere = app.client();
    assert_signed_in(&app.login(&elsewhere, "olga", &old).await);
    let secret = app.token_of("olga").await;
    let change = |client: &reqwest::Client, current: &str, new: &str, repeat: &str| {
        let form = [
            ("current_password", current.to_string()),
            ("new_password", new.to_string()),
            ("repeat_password", repeat.to_string()),
        ];
        let client = client.clone();
        let app = &app;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call(&client, "/api/auth/change_password", &form).await
        }
    };
    let new = "olga's own new password";

    for (current, new_password, repeat, message) in [
        (
            "not her password",
            new,
            new,
            "The current password is wrong.",
        ),
        (
            old.as_str(),
            "too short",
            "too short",
            "The password must have at least 12 characters.",
        ),
        (
            old.as_str(),
            new,
            "olga's own new passwork",
            "The new password and its repetition differ.",
        ),
        (
            old.as_str(),
            old.as_str(),
            old.as_str(),
            "The new password is the current one; choose another.",
        ),
    ] {
        let res = change(&here, current, new_password, repeat).await;
        assert_eq!(error_of(res).await, (400, json!({ "BadRequest": message })));
    }
    assert_eq!(app.whoami(&elsewhere).await.as_deref(), Some("olga"));
    assert_eq!(app.login(&app.client(), "olga", new).await.status(), 401);

    let res = change(&here, &old, new, new).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(app.whoami(&here).await.as_deref(), Some("olga"));
    assert_eq!(app.whoami(&elsewhere).await, None);
    // The session moved to a new id: the cookie from before the change is dead too.
    let replayed = crate::helpers::http_client(&app.base)
        .build()
        .unwrap()
        .post(format!("{}/api/auth/me", app.base))
        .header("Accept", "application/json")
        .header("Cookie", &old_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.json::<serde_json::Value>().await.unwrap(),
        json!(null)
    );
    assert_eq!(api_status(&app, &secret).await, 200);
    assert_eq!(app.login(&app.client(), "olga", &old).await.status(), 401);
    assert_signed_in(&app.login(&app.client(), "olga", new).await);

    let (_, audit) = app
        .call_fn(
            &admin,
            "/api/audit/list",
            &[("action", "user.change_password")],
        )
        .await;
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"], "olga", "{audit}");
    assert_eq!(
        entries[0]["after"], "other sessions ended, API tokens kept",
        "{audit}"
    );

    // Someone holding her session but not her password gets as many guesses as at the
    // sign-in form, then is refused even with the right one.
    for _ in 0..LOCK_AFTER {
        let res = change(
            &here,
            "a guess of hers",
            "yet another password",
            "yet another password",
        )
        .await;
        assert_eq!(res.status(), 400);
    }
    let res = change(&here, new, "yet another password", "yet another password").await;
    assert_eq!(res.status(), 429, "{}", res.text().await.unwrap());
    assert_eq!(app.whoami(&here).await.as_deref(), Some("olga"));
}

/// `V1` and `v1` could both exist: names are unique whatever their case, and sign-in
/// finds a user by name whatever its case.
#[tokio::test]
async fn user_names_are_unique_and_signed_in_with_whatever_their_case() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let (status, _) = app
        .call_fn(
            &admin,
            "/api/users/create",
            &[
                ("name", "Nora"),
                ("role", "viewer"),
                ("password", "nora's long password"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/users/create",
            &[
                ("name", "nora"),
                ("role", "viewer"),
                ("password", "another long password"),
            ],
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("exists already"), "{body}");
    assert_signed_in(
        &app.login(&app.client(), "NORA", "nora's long password")
            .await,
    );
}

/// An existing database whose names differ only in case is not migrated half-way: the
/// migration refuses, naming them, and runs once one is renamed.
#[tokio::test]
async fn the_user_name_migration_refuses_names_that_differ_only_in_case() {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Statement};
    let (_db, url) = crate::helpers::TestDb::new().await;
    let db = app::server::db::connect(&url).await.unwrap();
    // Every migration before this one.
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261202_000010_user_names_and_sessions")
        .unwrap() as u32;
    Migrator::up(&db, Some(before)).await.unwrap();
    for name in ["V1", "v1", "other"] {
        db.execute(Statement::from_string(
            db.get_database_backend(),
            format!(
                "INSERT INTO users (name, password_hash, role, disabled, created_at, updated_at) \
                 VALUES ('{name}', 'x', 'viewer', false, '2026-12-02 00:00:00+00:00', \
                 '2026-12-02 00:00:00+00:00')"
            ),
        ))
        .await
        .unwrap();
    }
    let err = Migrator::up(&db, None).await.unwrap_err().to_string();
    assert!(err.contains("differ only in case: V1, v1."), "{err}");
    db.execute_unprepared("UPDATE users SET name = 'v1-old' WHERE name = 'V1'")
        .await
        .unwrap();
    Migrator::up(&db, None).await.unwrap();
    let dup = db
        .execute_unprepared(
            "INSERT INTO users (name, password_hash, role, disabled, created_at, updated_at) \
             VALUES ('OTHER', 'x', 'viewer', false, '2026-12-02 00:00:00+00:00', \
             '2026-12-02 00:00:00+00:00')",
        )
        .await;
    assert!(dup.is_err(), "the database itself keeps names unique");
}

/// An admin could demote or disable themselves: refused, with a message that says who
/// can. The last enabled admin stays one whoever asks, the command line included.
#[tokio::test]
async fn admins_cannot_demote_or_disable_themselves_nor_the_last_admin() {
    let app = TestApp::spawn().await;
    let root = app.signed_in("root", Role::Admin).await;
    let root_id = id_of(&app, "root").await;
    let refused = |client: reqwest::Client, path: &'static str, id: String, field, value| {
        let app = &app;
        async move {
            app.call_fn(&client, path, &[("user_id", &id), (field, value)])
                .await
        }
    };
    assert_eq!(
        refused(
            root.clone(),
            "/api/users/set_role",
            root_id.clone(),
            "role",
            "operator"
        )
        .await,
        (
            409,
            json!({"Conflict": "You cannot change your own role; another admin can."})
        )
    );
    assert_eq!(
        refused(
            root.clone(),
            "/api/users/set_disabled",
            root_id.clone(),
            "disabled",
            "true"
        )
        .await,
        (
            409,
            json!({"Conflict": "You cannot disable your own account; another admin can."})
        )
    );
    // Another admin can.
    let second = app.signed_in("second", Role::Admin).await;
    let (status, body) = refused(
        second.clone(),
        "/api/users/set_role",
        root_id.clone(),
        "role",
        "operator",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "operator");
    // Now "second" is the last enabled admin: the command line cannot disable them either.
    let err = app::server::admin::users::disable_by_name(&app.state.db, "second")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "'second' is the last enabled admin; make another user admin first."
    );
    assert_eq!(app.whoami(&second).await.as_deref(), Some("second"));
}

#[tokio::test]
async fn admin_changes_are_audited() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    app.call(
        &admin,
        "/api/users/create",
        &[
            ("name", "olga"),
            ("role", "viewer"),
            ("password", "olga's long password"),
        ],
    )
    .await;
    let id = id_of(&app, "olga").await;
    app.call(
        &admin,
        "/api/users/set_role",
        &[("user_id", &id), ("role", "operator")],
    )
    .await;
    app.call(
        &admin,
        "/api/users/set_disabled",
        &[("user_id", &id), ("disabled", "true")],
    )
    .await;
    app.call(
        &admin,
        "/api/users/reset_password",
        &[("user_id", &id), ("password", "another long password")],
    )
    .await;

    let rows = app::server::entities::audit_log::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    let seen: Vec<(String, String, Option<String>, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r.action.clone(),
                r.actor_name.clone(),
                r.before.clone(),
                r.after.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "user.create".into(),
                "root".into(),
                None,
                Some("viewer".into())
            ),
            (
                "user.set_role".into(),
                "root".into(),
                Some("viewer".into()),
                Some("operator".into())
            ),
            (
                "user.set_disabled".into(),
                "root".into(),
                Some("enabled".into()),
                Some("disabled".into())
            ),
            (
                "user.reset_password".into(),
                "root".into(),
                None,
                Some("sessions ended, 0 API token(s) revoked".into())
            ),
        ]
    );
    assert!(rows
        .iter()
        .all(|r| r.target == "olga" && r.client_addr == "127.0.0.1"));
}
