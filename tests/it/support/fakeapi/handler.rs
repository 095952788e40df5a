//! One request through the server's filter chain, under the store lock: authentication (401), request attributes,
//! authorization (403), then the non-resource paths or the REST handlers; every answer is logged.

use super::authn::{self, UserInfo};
use super::authz;
use super::nonresource;
use super::rest::{self, Call};
use super::route::request_info;
use super::selectors::parse_query;
use super::status::{self, Reply};
use super::store::{LoggedRequest, Store};
use http::Method;

/// The raw request, as the transport saw it.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a str,
    pub content_type: &'a str,
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
    /// The user of a verified client certificate, if one was presented.
    pub cert_user: Option<&'a UserInfo>,
    /// `host:port` this listener serves (for `/api`'s serverAddressByClientCIDRs).
    pub server_address: &'a str,
}

/// The answer: status code, content type, body bytes.
pub struct Outgoing {
    pub code: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

fn json(reply: Reply) -> Outgoing {
    let body = serde_json::to_vec(&reply.body).unwrap_or_default();
    Outgoing { code: reply.code, content_type: "application/json", body }
}

/// Serves one request against the store.
pub fn respond(store: &mut Store, req: &Incoming) -> Outgoing {
    let (user, out) = match authn::authenticate(store, req.cert_user, req.authorization) {
        Err(()) => (None, json(status::unauthorized())),
        Ok(user) => {
            let out = authorized(store, &user, req);
            (Some(user), out)
        }
    };
    store.log.push(LoggedRequest {
        method: req.method.to_string(),
        path: req.path.to_string(),
        query: req.query.to_string(),
        user: user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
        groups: user.map(|u| u.groups).unwrap_or_default(),
        status: out.code,
        content_type: req.content_type.to_string(),
    });
    out
}

fn authorized(store: &mut Store, user: &UserInfo, req: &Incoming) -> Outgoing {
    let info = request_info(req.method, req.path);
    if !authz::allowed(store, user, &info) {
        return json(authz::forbidden(user, &info));
    }
    let query = parse_query(req.query);
    if !info.resource_request {
        let found = matches!(*req.method, Method::GET | Method::HEAD)
            .then(|| nonresource::get(req.path, &query, req.server_address))
            .flatten();
        return match found {
            Some(p) => Outgoing { code: p.code, content_type: p.content_type, body: p.body.into_bytes() },
            None => Outgoing {
                code: 404,
                content_type: "text/plain; charset=utf-8",
                body: b"404 page not found\n".to_vec(),
            },
        };
    }
    let call = Call { info: &info, query: &query, content_type: req.content_type, body: req.body, user };
    json(rest::handle(store, &call))
}
