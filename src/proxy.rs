//! Which proxy a client goes through, and what a proxy's refusal means.

use ureq::Proxy;

use crate::error::Error;
use crate::options::Options;
use crate::validate::{self, BaseUrl};

/// The proxy for `base`: the explicit `options.proxy` (`""`: none), else one from the
/// environment, but never from the environment for a loopback `api_url`.
pub(crate) fn choose(options: &Options, base: &BaseUrl) -> Result<Option<Proxy>, Error> {
    match options.proxy.as_deref() {
        // A proxy from the environment is meant for the outside world, not for loopback.
        None if validate::is_loopback(&base.host) => Ok(None),
        None => Ok(from_env()),
        Some("") => Ok(None),
        // The proxy URL may carry credentials: the message does not repeat it.
        Some(p) => Proxy::new(p)
            .map(Some)
            .map_err(|_| Error::invalid("proxy is not a valid proxy URL")),
    }
}

/// The proxy named by `ALL_PROXY` or `HTTPS_PROXY` (either case), honouring `NO_PROXY`.
/// `HTTP_PROXY` alone is not used: the service is reached over https, and a proxy meant for
/// plain http traffic should not see it.
fn from_env() -> Option<Proxy> {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    ["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"]
        .iter()
        .any(|n| set(n))
        .then(Proxy::try_from_env)
        .flatten()
}
