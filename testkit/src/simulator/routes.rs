//! Request handling of the simulator: routing, the token endpoint, `InvokeCommand` with its
//! faults, and `EXOModuleFile`.

use super::*;

// ---- request handling ---------------------------------------------------------------------

/// How much earlier than the configured latency the simulator's timer is set (see `route`).
const TIMER_SLACK: Duration = Duration::from_millis(2);

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn answer(a: HttpAnswer) -> Response {
    let mut r = Response::new(Body::from(a.body));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in a.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            r.headers_mut().append(k, v);
        }
    }
    with_request_id(r)
}

fn with_request_id(mut r: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        r.headers_mut().insert("request-id", v);
    }
    r
}

fn reset() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        ))
    });
    Response::new(Body::from_stream(stream))
}

pub(super) async fn dispatch(State(state): State<Arc<SimState>>, request: Request) -> Response {
    let response = route(&state, request).await;
    *state
        .statuses
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(response.status().as_u16())
        .or_default() += 1;
    response
}

async fn route(state: &Arc<SimState>, request: Request) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let path = request.uri().path().to_string();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let [t, o, v, op] = segs.as_slice()
        && o.eq_ignore_ascii_case("oauth2")
        && v.eq_ignore_ascii_case("v2.0")
        && op.eq_ignore_ascii_case("token")
    {
        let segment = percent_decode(t);
        return token_endpoint(state, &segment, request).await;
    }
    let route = match segs.as_slice() {
        [a, v, t, op] if a.eq_ignore_ascii_case("adminapi") => Some((
            v.to_ascii_lowercase(),
            t.to_string(),
            op.to_ascii_lowercase(),
        )),
        _ => None,
    };
    let Some((version, tenant, op)) = route else {
        return answer(HttpAnswer {
            status: 404,
            headers: Vec::new(),
            body: Vec::new(),
        });
    };
    // A tenant the service does not serve: no token can be valid for it, so the answer is
    // the bearer challenge of an invalid token.
    let Some(index) = state.lookup(&percent_decode(&tenant)) else {
        return answer(Failure::Unauthorized.answer());
    };
    let t = &state.tenants[index];
    t.requests.fetch_add(1, Ordering::SeqCst);
    let count = t.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InFlight(&t.in_flight);
    t.peak_in_flight.fetch_max(count, Ordering::SeqCst);
    let cap = *t.max_in_flight.lock().unwrap_or_else(|e| e.into_inner());
    let latency = *t.latency.lock().unwrap_or_else(|e| e.into_inner());
    // Beyond the cap the request is refused at once: it neither waits the latency nor holds
    // a slot (a refusal that held one would make the calls after it look refused by the cap).
    if cap.is_some_and(|c| count > c) {
        t.concurrency_rejections.fetch_add(1, Ordering::SeqCst);
        return answer(Failure::ConcurrencyLimit.answer());
    }
    if let Some(l) = latency {
        // tokio's timer fires on a millisecond tick after the deadline (on this kind of machine
        // about 1.8 ms late on average, measured), so aim `TIMER_SLACK` early: the delay a client sees then
        // matches the configured latency on average instead of exceeding it.
        tokio::time::sleep(l.saturating_sub(TIMER_SLACK)).await;
    }
    if let Some(l) = latency {
        t.service_nanos
            .fetch_add(l.as_nanos() as u64, Ordering::SeqCst);
    }
    if !authorized(state, t, request.headers()) {
        return answer(Failure::Unauthorized.answer());
    }
    match (request.method(), version.as_str(), op.as_str()) {
        (&Method::POST, "beta", "invokecommand") => invoke(state, t, request).await,
        (&Method::POST, "v1.0", "invokecommand") => answer(HttpAnswer {
            status: 405,
            headers: Vec::new(),
            body: Vec::new(),
        }),
        (&Method::GET, _, "exomodulefile") => module_file(t, request.headers()),
        _ => answer(HttpAnswer {
            status: 404,
            headers: Vec::new(),
            body: Vec::new(),
        }),
    }
}

fn now_secs(now: SystemTime) -> u64 {
    now.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `POST /{tenant}/oauth2/v2.0/token`: the client-credentials grant (see the `entra` module).
async fn token_endpoint(state: &SimState, segment: &str, request: Request) -> Response {
    let json = |status: u16, body: Vec<u8>| {
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let h = r.headers_mut();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        h.insert(
            "cache-control",
            HeaderValue::from_static("no-store, no-cache"),
        );
        with_request_id(r)
    };
    if request.method() != Method::POST {
        return answer(HttpAnswer {
            status: 405,
            headers: vec![("Allow".into(), "POST".into())],
            body: Vec::new(),
        });
    }
    let index = state.lookup(segment);
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let now = SystemTime::now();
    let tenant = index.map(|i| &state.tenants[i]);
    if let Some(t) = tenant {
        t.token_requests.fetch_add(1, Ordering::SeqCst);
    }
    let check = TokenCheck {
        segment,
        tenant: tenant.map(|t| DirectoryTenant {
            tenant_id: &t.tenant_id,
            domain: &t.domain,
            consented: t.consented.load(Ordering::SeqCst),
        }),
        app: &state.app,
        scopes: &state.scopes,
        base: &state.base,
        now,
    };
    match (entra::check(&check, &body), tenant) {
        (Ok(()), Some(t)) => {
            t.tokens_issued.fetch_add(1, Ordering::SeqCst);
            let token = issue_token(
                &state.key,
                &t.tenant_id,
                &state.app.client_id,
                now_secs(now),
                t.token_generation.load(Ordering::SeqCst),
            );
            json(200, entra::token_body(&token, ISSUED_TOKEN_LIFETIME_SECS))
        }
        (Err(e), _) => json(e.status, e.body(now)),
        // `check` refuses a request naming no served tenant.
        (Ok(()), None) => json(500, Vec::new()),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Whether the bearer token of `headers` is valid on tenant `t`'s URLs: its fixed token, or
/// one its token endpoint issued in the current rotation; with `accept_any_token`, any
/// non-empty token but one whose `tid` names another served tenant. An unconsented tenant
/// accepts none.
fn authorized(state: &SimState, t: &TenantState, headers: &HeaderMap) -> bool {
    if !t.consented.load(Ordering::SeqCst) {
        return false;
    }
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .is_some_and(|token| {
            let token = token.trim();
            if token.is_empty() {
                return false;
            }
            if *t.current_token.read().unwrap_or_else(|e| e.into_inner()) == token {
                return true;
            }
            if is_issued_token(
                &state.key,
                token,
                &t.tenant_id,
                t.token_generation.load(Ordering::SeqCst),
                now_secs(SystemTime::now()),
            ) {
                return true;
            }
            state.accept_any_token
                && tid_of(token).is_none_or(|tid| {
                    tid.eq_ignore_ascii_case(&t.tenant_id) || state.lookup(&tid).is_none()
                })
        })
}

fn bad_request(message: &str) -> Response {
    answer(
        Failure::InvalidOperation {
            exception: "Microsoft.Exchange.Admin.OData.Core.ODataServiceException".into(),
            message: message.into(),
        }
        .answer(),
    )
}

fn next_step(script: &Mutex<Vec<Step>>, cmdlet: &str) -> Option<Fault> {
    let mut script = script.lock().unwrap_or_else(|e| e.into_inner());
    let write = CmdletKind::from_cmdlet_name(cmdlet).is_mutating();
    let step = script.iter_mut().find(|s| {
        s.remaining != Some(0)
            && (write || s.step.fault != Fault::NextLinkOnWrite)
            && s.step
                .cmdlet
                .as_deref()
                .is_none_or(|c| c.eq_ignore_ascii_case(cmdlet))
    })?;
    if step.skip > 0 {
        step.skip -= 1;
        return None;
    }
    if let Some(n) = step.remaining.as_mut() {
        *n -= 1;
    }
    Some(step.step.fault.clone())
}

/// The next scripted fault for `cmdlet` on tenant `t`: the tenant's own script first, then
/// the simulator's.
fn next_fault(state: &SimState, t: &TenantState, cmdlet: &str) -> Option<Fault> {
    let fault = next_step(&t.script, cmdlet).or_else(|| next_step(&state.script, cmdlet))?;
    state.faults_fired.fetch_add(1, Ordering::SeqCst);
    Some(fault)
}

async fn invoke(state: &Arc<SimState>, t: &TenantState, request: Request) -> Response {
    let (response, late) = answer_invoke(state, t, request).await;
    match late {
        Some(Fault::ResetMidBody) => cut_mid_body(response).await,
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            response
        }
        Some(Fault::AfterRun(f)) => answer(f.answer()),
        _ => response,
    }
}

/// Send the status line, the headers and the first half of `response`'s body, then abort
/// the connection (the body stream fails; hyper closes the connection mid-message).
async fn cut_mid_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len().div_ceil(2));
    parts.headers.remove("content-length");
    use futures::StreamExt as _;
    let stream = futures::stream::iter([Ok::<Bytes, std::io::Error>(half)]).chain(
        futures::stream::once(async {
            // Let the first half reach the client before the connection is aborted.
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated connection reset mid-body",
            ))
        }),
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The answer to an `InvokeCommand` request, and a fault to apply to it once the cmdlet ran
/// ([`Fault::ResetMidBody`], [`Fault::Delay`], [`Fault::AfterRun`]).
async fn answer_invoke(
    state: &Arc<SimState>,
    t: &TenantState,
    request: Request,
) -> (Response, Option<Fault>) {
    let mut late = None;
    let response = answer_invoke_inner(state, t, request, &mut late).await;
    (response, late)
}

async fn answer_invoke_inner(
    state: &Arc<SimState>,
    t: &TenantState,
    request: Request,
    late: &mut Option<Fault>,
) -> Response {
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let page_size = request
        .headers()
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .find_map(|p| {
            p.trim()
                .strip_prefix("odata.maxpagesize=")
                .and_then(|n| n.trim().parse::<usize>().ok())
        })
        .unwrap_or(MAX_PAGE_SIZE as usize)
        .clamp(1, MAX_PAGE_SIZE as usize);
    let client_request_id = request
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match axum::body::to_bytes(request.into_body(), 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return bad_request("The request body could not be read."),
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return bad_request("The request body is not valid JSON."),
    };
    let input = parsed.get("CmdletInput");
    let Some(cmdlet) = input
        .and_then(|i| i.get("CmdletName"))
        .and_then(Value::as_str)
    else {
        return bad_request("CmdletInput.CmdletName is required.");
    };
    let parameters: Map<String, Value> = match input.and_then(|i| i.get("Parameters")) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return bad_request("CmdletInput.Parameters must be an object."),
    };
    let skiptoken = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("$skiptoken"))
        .map(|(_, v)| v.clone());
    state
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(SimulatedCall {
            cmdlet: cmdlet.to_string(),
            continuation: skiptoken.is_some(),
            tenant_id: t.tenant_id.clone(),
        });
    match next_fault(state, t, cmdlet) {
        Some(Fault::Fail(f)) => return answer(f.answer()),
        Some(Fault::ConnectionReset) => return reset(),
        Some(late_fault) => *late = Some(late_fault),
        None => {}
    }
    let stale_link = skiptoken
        .clone()
        .filter(|_| matches!(late, Some(Fault::StaleNextLink)));
    // A continuation answered with the first page again, under a fresh next link.
    let repeat = skiptoken.is_some() && matches!(late, Some(Fault::RepeatRows));
    for chaos in [&state.chaos, &t.chaos].into_iter().flatten() {
        let facts = ChaosRequest::new(CmdletKind::from_cmdlet_name(cmdlet), &body)
            .client_request_id(client_request_id.as_deref())
            .skiptoken(skiptoken.as_deref());
        let fault = chaos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .decide(&facts, SystemTime::now());
        match fault {
            Some(Fault::Fail(f)) => return answer(f.answer()),
            Some(Fault::ConnectionReset) => return reset(),
            Some(late_fault) => {
                *late = Some(late_fault);
                break;
            }
            None => {}
        }
    }
    // Skiptokens are bound to the request body and to the tenant whose URL issued them.
    let bound: Vec<u8> = [t.tenant_id.as_bytes(), b"\n", &body].concat();
    let mut select: Vec<String> = query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("$select"))
        .map(|(_, v)| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let cursor = match skiptoken {
        None => None,
        Some(_) if repeat => None,
        Some(tok) => {
            if state.expire_next.swap(false, Ordering::SeqCst) {
                return answer(Failure::PaginationExpired.answer());
            }
            let expiry = *state.expiry.lock().unwrap_or_else(|e| e.into_inner());
            match continuation::decode(&state.key, &tok, &bound, SystemTime::now(), expiry) {
                Ok((c, s)) => {
                    if select.is_empty() {
                        select = s;
                    }
                    Some(c)
                }
                Err(f) => return answer(f.answer()),
            }
        }
    };
    let call = Call::new(cmdlet, &parameters)
        .select(&select)
        .page_size(page_size)
        .cursor(cursor.as_ref());
    let reply = match execute(&t.tenant, &call) {
        Ok(o) => o,
        Err(f) => return answer(f.answer()),
    };
    // The rows cost service time too (the tenant's slot stays taken meanwhile).
    let latency = *t.latency.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(l) = latency
        && state.row_cost > 0.0
        && reply.row_count > 0
    {
        let cost = l.mul_f64(state.row_cost * reply.row_count as f64);
        t.service_nanos
            .fetch_add(cost.as_nanos() as u64, Ordering::SeqCst);
        tokio::time::sleep(cost).await;
    }
    let tenant_path = &t.tenant_id;
    let mut out = Vec::with_capacity(reply.rows_json.len() + 512);
    out.extend_from_slice(b"{\"@odata.context\":");
    let context = format!(
        "{}/adminapi/beta/{tenant_path}/$metadata#Collection(Exchange.GenericHashTable)",
        state.base
    );
    let _ = serde_json::to_writer(&mut out, &context);
    out.extend_from_slice(
        b",\"adminapi.warnings@odata.type\":\"#Collection(String)\",\"@adminapi.warnings\":",
    );
    let _ = serde_json::to_writer(&mut out, &reply.warnings);
    if let Some(c) = &reply.confirmation_message {
        out.extend_from_slice(b",\"@adminapi.confirmationmessage\":");
        let _ = serde_json::to_writer(&mut out, c);
    }
    let next_on_write =
        matches!(late, Some(Fault::NextLinkOnWrite)).then(super::continuation::Cursor::default);
    let next_token = match (stale_link, reply.next.as_ref().or(next_on_write.as_ref())) {
        (Some(stale), _) => Some(stale),
        (None, Some(next)) => Some(continuation::encode(
            &state.key,
            &bound,
            next,
            &select,
            SystemTime::now(),
        )),
        (None, None) => None,
    };
    if let Some(token) = next_token {
        let mut link = Url::parse(&format!(
            "{}/adminapi/beta/{tenant_path}/InvokeCommand",
            state.base
        ))
        .expect("valid loopback URL");
        link.query_pairs_mut().append_pair("$skiptoken", &token);
        if repeat {
            let n = state.repeat_links.fetch_add(1, Ordering::SeqCst);
            link.query_pairs_mut().append_pair("repeat", &n.to_string());
        }
        out.extend_from_slice(b",\"@odata.nextLink\":");
        let _ = serde_json::to_writer(&mut out, link.as_str());
    }
    out.extend_from_slice(b",\"value\":");
    out.extend_from_slice(&reply.rows_json);
    out.push(b'}');
    let mut r = Response::new(Body::from(out));
    let h = r.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"),
    );
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    h.insert("rate-limit-limit", HeaderValue::from_static("30000"));
    with_request_id(r)
}

fn module_file(t: &TenantState, headers: &HeaderMap) -> Response {
    let wanted: Vec<String> = headers
        .get("commandname")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let (content, mut exported) = {
        let tenant = t.tenant.read().unwrap_or_else(|e| e.into_inner());
        module::generate(tenant.rbac())
    };
    if !wanted.iter().any(|w| w == "*") {
        exported.retain(|e| wanted.iter().any(|w| w.eq_ignore_ascii_case(e)));
    }
    let body = serde_json::json!({
        "value": [{
            "fileName": module::MODULE_FILE_NAME,
            "fileContent": content,
            "exportedCmdlets": exported.join(","),
        }]
    });
    let mut r = Response::new(Body::from(body.to_string()));
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    with_request_id(r)
}
