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

#[tokio::test]
async fn password_reset_replaces_the_old_password() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let old = app.add_user("olga", Role::Operator).await;
    let id = id_of(&app, "olga").await;
    let res = app
        .call(
            &admin,
            "/api/users/reset_password",
            &[("user_id", &id), ("password", "brand new password")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.login(&app.client(), "olga", &old).await.status(), 401);
    assert_signed_in(&app.login(&app.client(), "olga", "brand new password").await);
}

#[tokio::test]
async fn the_last_admin_can_be_neither_demoted_nor_disabled() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let id = id_of(&app, "root").await;
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/users/set_role",
            &[("user_id", &id), ("role", "operator")],
        )
        .await;
    assert_eq!(status, 409);
    assert!(body["Conflict"]
        .as_str()
        .unwrap()
        .contains("last enabled admin"));
    let (status, _) = app
        .call_fn(
            &admin,
            "/api/users/set_disabled",
            &[("user_id", &id), ("disabled", "true")],
        )
        .await;
    assert_eq!(status, 409);
    // With a second admin, it can.
    app.add_user("second", Role::Admin).await;
    assert_eq!(
        app.call(
            &admin,
            "/api/users/set_role",
            &[("user_id", &id), ("role", "operator")]
        )
        .await
        .status(),
        200
    );
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
            ("user.reset_password".into(), "root".into(), None, None),
        ]
    );
    assert!(rows
        .iter()
        .all(|r| r.target == "olga" && r.client_addr == "127.0.0.1"));
}
