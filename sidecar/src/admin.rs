//! `bedrud admin promote --email E`: makes an existing account a platform admin. The first
//! admin signs up like everyone else (no default password exists anywhere), then someone with
//! shell access to the appliance, or AWS credentials for the table (`TABLE_NAME=…`), runs
//! this. The new role shows from the user's next token refresh or login.

use std::path::Path;
use std::process::ExitCode;

use bedrud_shared::config::Config;
use bedrud_shared::domain::{Access, Email, now};
use bedrud_shared::runtime::open_stores;
use bedrud_shared::store::{UserChange, UserChangeOutcome};

pub fn promote(config_path: Option<&Path>, email: &str) -> ExitCode {
    crate::block_on(async {
        match run(config_path, email).await {
            Ok(msg) => {
                println!("{msg}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("bedrud: {e}");
                ExitCode::from(2)
            }
        }
    })
}

async fn run(config_path: Option<&Path>, email: &str) -> Result<String, String> {
    let email = Email::parse(email).map_err(|e| format!("--email: {e}"))?;
    let config = Config::load(config_path).map_err(|e| e.to_string())?.config;
    let (stores, _) = open_stores(&config).await.map_err(|e| e.to_string())?;
    let user = stores
        .users
        .user_by_email(&email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!("no account with email {email}: sign up first, then promote it here")
        })?;
    if user.accesses.iter().any(|a| *a >= Access::Admin) {
        return Ok(format!("{email} is already an admin"));
    }
    let mut accesses = user.accesses.clone();
    accesses.push(Access::Admin);
    match stores
        .admin()
        .map_err(|e| e.to_string())?
        .change_user(&user.id, &UserChange::Accesses(accesses), now())
        .await
    {
        Ok(UserChangeOutcome::Done(_)) => Ok(format!(
            "{email} is now an admin (effective from their next token refresh or login)"
        )),
        Ok(UserChangeOutcome::NotFound) => Err(format!("{email} disappeared meanwhile")),
        Ok(UserChangeOutcome::LastAdmin) => Err("refused: it would leave no admin".into()),
        Err(e) => Err(e.to_string()),
    }
}
