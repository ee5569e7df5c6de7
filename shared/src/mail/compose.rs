//! The account messages: plain text and HTML, the server's name and the link, nothing else
//! (never a password, never a token but the link's own).

use super::Message;
use crate::domain::Email;

/// Which link a message carries, with its token.
#[derive(Debug, Clone, Copy)]
pub enum Link<'a> {
    Verify(&'a str),
    Reset(&'a str),
}

/// What every message is written with.
#[derive(Debug, Clone)]
pub struct Compose {
    /// `server.name`.
    pub server_name: String,
    /// Where the web app lives (`auth.frontendURL`, else `https://<server.domain>`), without
    /// a trailing slash; empty leaves the link relative, as Bedrud does.
    pub base_url: String,
}

impl Compose {
    pub fn url(&self, link: Link<'_>) -> String {
        let (path, token) = match link {
            Link::Verify(t) => ("/auth/verify", t),
            Link::Reset(t) => ("/auth/reset-password", t),
        };
        format!("{}{path}?token={token}", self.base_url)
    }

    pub fn message(&self, to: &Email, name: &str, link: Link<'_>, hours: u64) -> Message {
        let server = &self.server_name;
        let url = self.url(link);
        let valid = match hours {
            1 => "1 hour".to_string(),
            h => format!("{h} hours"),
        };
        let (subject, lead, action, ignore) = match link {
            Link::Verify(_) => (
                format!("Verify your {server} email"),
                format!("Please confirm that this is your address for {server}."),
                "Verify email",
                "If you did not sign up, you can ignore this message.",
            ),
            Link::Reset(_) => (
                format!("Reset your {server} password"),
                format!("Someone asked to reset the password of your {server} account."),
                "Choose a new password",
                "If it was not you, ignore this message: your password stays as it is.",
            ),
        };
        let text = format!(
            "Hello {name},\n\n{lead}\n\n{action}: {url}\n\nThe link works once and expires in \
             {valid}.\n{ignore}\n\n{server}\n"
        );
        let (h_name, h_lead, h_url, h_server) = (
            escape_html(name),
            escape_html(&lead),
            escape_html(&url),
            escape_html(server),
        );
        let html = format!(
            "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">\
             <p>Hello {h_name},</p><p>{h_lead}</p>\
             <p><a href=\"{h_url}\" style=\"display:inline-block;padding:10px 18px;\
             background:#2563eb;color:#fff;text-decoration:none;border-radius:6px\">{action}</a></p>\
             <p style=\"font-size:13px;color:#555\">Or open this link: {h_url}</p>\
             <p style=\"font-size:13px;color:#555\">The link works once and expires in {valid}. \
             {ignore}</p><p>{h_server}</p></body></html>"
        );
        Message {
            to: to.clone(),
            subject,
            text,
            html,
        }
    }
}

/// Text made safe inside HTML (element content and quoted attributes).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_carry_the_link_and_html_is_escaped() {
        let c = Compose {
            server_name: "Acme <Meet>".into(),
            base_url: "https://meet.example.com".into(),
        };
        let to = Email::parse("ann@example.com").unwrap();
        let m = c.message(&to, "Ann <b>", Link::Reset("abc.def"), 1);
        let url = "https://meet.example.com/auth/reset-password?token=abc.def";
        assert!(m.text.contains(url) && m.html.contains(url));
        assert_eq!(m.subject, "Reset your Acme <Meet> password");
        assert!(m.html.contains("Ann &lt;b&gt;") && !m.html.contains("<b>"));
        assert!(m.text.contains("expires in 1 hour."));
        let v = c.message(&to, "Ann", Link::Verify("t"), 24);
        assert!(v.text.contains("/auth/verify?token=t") && v.text.contains("24 hours"));
    }
}
