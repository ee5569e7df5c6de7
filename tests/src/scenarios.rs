//! Black-box scenarios over HTTP only, so the same assertions hold for the in-process server
//! and for the `bedrud` binary.

use serde_json::{Value, json};

use crate::{Api, jwt_claims};

/// A unique address per call, so scenarios can share a server.
pub fn unique_email(tag: &str) -> String {
    format!("{}@example.com", crate::unique(tag))
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Registers and returns the whole reply body.
pub async fn register(api: &Api, email: &str) -> Value {
    let r = api
        .post(
            "/api/auth/register",
            None,
            &json!({"email": email, "password": PASSWORD, "name": "Ann Lee"}),
        )
        .await
        .expect(200);
    r.body
}

/// A sign-in with any password; the whole reply.
pub async fn sign_in(api: &Api, email: &str, password: &str) -> crate::Reply {
    api.post(
        "/api/auth/login",
        None,
        &json!({"email": email, "password": password}),
    )
    .await
}

pub async fn login(api: &Api, email: &str) -> (String, String) {
    let r = api
        .post(
            "/api/auth/login",
            None,
            &json!({"email": email, "password": PASSWORD}),
        )
        .await
        .expect(200);
    tokens(&r.body)
}

fn tokens(body: &Value) -> (String, String) {
    (
        body["tokens"]["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_string(),
        body["tokens"]["refreshToken"]
            .as_str()
            .expect("refreshToken")
            .to_string(),
    )
}

async fn refresh(api: &Api, refresh_token: &str) -> crate::Reply {
    api.post(
        "/api/auth/refresh",
        None,
        &json!({"refresh_token": refresh_token}),
    )
    .await
}

/// Register → login → me → refresh (rotation; the generation just rotated out keeps answering
/// for a moment) → reuse of an older token (401, family revoked) → logout (refresh no longer
/// works), with two sessions of one user staying independent.
pub async fn auth_lifecycle(api: &Api) {
    let email = unique_email("life");
    let reg = register(api, &email).await;
    // The superset every client needs: {user, tokens} and top-level tokens (iOS).
    assert_eq!(reg["user"]["email"], email.as_str());
    assert_eq!(reg["user"]["provider"], "local");
    assert_eq!(reg["user"]["accesses"], json!(["user"]));
    assert_eq!(reg["user"]["isActive"], true);
    assert_eq!(reg["accessToken"], reg["tokens"]["accessToken"]);
    assert_eq!(reg["refreshToken"], reg["tokens"]["refreshToken"]);
    let user_id = reg["user"]["id"].as_str().unwrap().to_string();

    // Two devices: A and B.
    let (access_a, refresh_a) = login(api, &email).await;
    let (access_b, refresh_b) = login(api, &email).await;
    let claims = jwt_claims(&access_a);
    for k in ["userId", "email", "provider", "accesses", "exp", "iat"] {
        assert!(!claims[k].is_null(), "access token lacks `{k}`: {claims}");
    }
    assert_eq!(claims["userId"], user_id.as_str());

    let me = api.get("/api/auth/me", Some(&access_a)).await.expect(200);
    assert_eq!(me.body["id"], user_id.as_str());
    assert_eq!(me.body["email"], email.as_str());

    // Rotation: snake_case in and out; the new pair works, the refresh cookie rotates too.
    let r1 = refresh(api, &refresh_a).await.expect(200);
    let access_a2 = r1.body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    let refresh_a2 = r1.body["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string();
    assert_ne!(refresh_a2, refresh_a);
    assert_eq!(
        r1.refresh_cookie_value().as_deref(),
        Some(refresh_a2.as_str())
    );
    api.get("/api/auth/me", Some(&access_a2)).await.expect(200);

    // The token just rotated out, presented again at once (a second tab, a retry after a
    // lost answer), gets the current generation instead of a sign-out.
    let again = refresh(api, &refresh_a).await.expect(200);
    let current = again.body["refresh_token"].as_str().unwrap();
    assert_eq!(
        jwt_claims(current)["generation"],
        jwt_claims(&refresh_a2)["generation"]
    );

    // Replaying an older generation: 401, and the whole family (A's newest token) is
    // revoked.
    let r2 = refresh(api, &refresh_a2).await.expect(200);
    let refresh_a3 = r2.body["refresh_token"].as_str().unwrap().to_string();
    let replay = refresh(api, &refresh_a).await.expect(401);
    assert!(!replay.error().is_empty());
    refresh(api, &refresh_a3).await.expect(401);

    // Device B is untouched by A's revocation.
    let rb = refresh(api, &refresh_b).await.expect(200);
    let refresh_b2 = rb.body["refresh_token"].as_str().unwrap().to_string();
    api.get("/api/auth/me", Some(&access_b)).await.expect(200);

    // Logout of B (bearer + body): its refresh token stops working; the reply is JSON.
    let out = api
        .post(
            "/api/auth/logout",
            Some(&access_b),
            &json!({"refresh_token": refresh_b2}),
        )
        .await
        .expect(200);
    assert!(out.body["message"].is_string());
    refresh(api, &refresh_b2).await.expect(401);

    // A fresh login still works after all that.
    let (_, refresh_c) = login(api, &email).await;
    refresh(api, &refresh_c).await.expect(200);
}

/// A refresh token is never accepted where an access token is required.
pub async fn refresh_token_is_not_a_bearer(api: &Api) {
    let reg = register(api, &unique_email("typ")).await;
    let (_, refresh_token) = tokens(&reg);
    let r = api
        .get("/api/auth/me", Some(&refresh_token))
        .await
        .expect(401);
    assert!(!r.error().is_empty());
}

/// Unknown routes and methods answer JSON errors, not empty bodies.
pub async fn unknown_routes_are_json(api: &Api) {
    assert_eq!(
        api.get("/api/nope", None).await.expect(404).error(),
        "not found"
    );
    api.call(reqwest::Method::DELETE, "/api/auth/login", None, None)
        .await
        .expect(405)
        .error();
}

/// Register → create a room → join it → refresh its token → archive it: the room flow as
/// the web client drives it, with the LiveKit token checked for identity and room.
pub async fn room_lifecycle(api: &Api) {
    let body = register(api, &unique_email("rooms")).await;
    let (access, user_id) = (
        body["tokens"]["accessToken"].as_str().unwrap().to_string(),
        body["user"]["id"].as_str().unwrap().to_string(),
    );
    let created = api
        .post(
            "/api/room/create",
            Some(&access),
            &json!({"isPublic": true}),
        )
        .await
        .expect(200);
    let name = created.body["name"].as_str().unwrap();
    let join = json!({ "roomName": name });
    let joined = api
        .post("/api/room/join", Some(&access), &join)
        .await
        .expect(200);
    let claims = jwt_claims(joined.body["token"].as_str().unwrap());
    // The token names this incarnation of the room (`<name>.<id>`), never just the name a
    // later room may take.
    assert_eq!(
        (&claims["sub"], &claims["video"]["room"]),
        (&json!(user_id), &json!(crate::livekit_room(&created.body)))
    );
    assert_eq!(joined.body["adminId"], json!(user_id));
    api.post("/api/room/refresh-token", Some(&access), &join)
        .await
        .expect(200);
    let id = created.body["id"].as_str().unwrap();
    // Moderation is served too: a guest who joined may not moderate; the owner may unban
    // (no LiveKit call needed) and the guest can then still join.
    let guest = api
        .post("/api/auth/guest-login", None, &json!({"name": "Gus"}))
        .await
        .expect(200);
    let guest_token = guest.body["tokens"]["accessToken"].as_str().unwrap();
    let guest_id = guest.body["user"]["id"].as_str().unwrap();
    api.post("/api/room/join", Some(guest_token), &join)
        .await
        .expect(200);
    let mute_owner = format!("/api/room/{id}/mute/{user_id}");
    let r = api.post(&mute_owner, Some(guest_token), &json!({})).await;
    assert_eq!(r.expect(403).error(), "Insufficient permissions");
    let unban = format!("/api/room/{id}/unban/{guest_id}");
    api.post(&unban, Some(&access), &json!({}))
        .await
        .expect(200);
    api.call(
        reqwest::Method::DELETE,
        &format!("/api/room/{id}"),
        Some(&access),
        None,
    )
    .await
    .expect(200);
    let again = api
        .post("/api/room/join", Some(&access), &join)
        .await
        .expect(200);
    assert_eq!(again.body["status"], "archived_owned");
}
