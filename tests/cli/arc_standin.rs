//! A small stand-in for Amazon Application Recovery Controller (ARC), so the
//! `gameday` binary itself can run its ARC steps: moto has no ARC (neither
//! arc-zonal-shift nor arc-region-switch), and aws-smithy-mocks answers only
//! clients built inside the test process, not another process's.
//!
//! It listens on 127.0.0.1, on a port the system picks, and answers the
//! wire protocols the SDK speaks, read from the generated serializers of
//! aws-sdk-arczonalshift (restJson1: `GET /managedresources/{arn}`,
//! `POST /zonalshifts`, `DELETE /zonalshifts/{id}`, `GET /zonalshifts?status=`,
//! `POST /practiceruns`, `DELETE /practiceruns/{id}`; errors as
//! `x-amzn-ErrorType` with a JSON body) and aws-sdk-arcregionswitch
//! (Smithy RPCv2-CBOR: `POST /service/ArcRegionSwitch/operation/{Op}`,
//! errors as a CBOR map with `__type`). The binary reaches it through the
//! SDK's standard per-service variables, `AWS_ENDPOINT_URL_ARC_ZONAL_SHIFT`
//! and `AWS_ENDPOINT_URL_ARC_REGION_SWITCH`, while everything else (STS,
//! EC2) goes to moto through the project's `endpoint_url`.
//!
//! It keeps ARC's rules that gameday depends on: ids named by ARC when a
//! shift or execution starts (UUIDs), one zonal shift or practice run
//! active at a time on a resource (`409 ConflictException`, except that a
//! zonal shift a customer starts interrupts a practice run), one
//! unfinished execution at a time per plan (`IllegalStateException`), a
//! cancel of something no longer active refused, the status and outcome
//! enums ARC uses, and a practice run cancelled ending INTERRUPTED.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// A load balancer ARC manages: its zones (AZ IDs) and, when it has one,
/// its practice-run configuration's outcome alarm.
#[derive(Clone, Debug)]
pub struct Resource {
    pub name: String,
    pub zones: Vec<String>,
    pub practice_outcome_alarm: Option<String>,
}

/// A zonal shift or a practice run, as ARC keeps it.
#[derive(Clone, Debug)]
pub struct Shift {
    pub id: String,
    pub resource: String,
    pub away_from: String,
    pub comment: String,
    /// `ACTIVE`, `EXPIRED` or `CANCELED`.
    pub status: String,
    /// A practice run's outcome (`PENDING`, `SUCCEEDED`, `INTERRUPTED`, ...); `None` for a zonal shift.
    pub practice_outcome: Option<String>,
    pub start: i64,
    pub expiry: i64,
}

/// A Region switch plan: its Regions and whether a step waits for a person.
#[derive(Clone, Debug)]
pub struct Plan {
    pub name: String,
    pub regions: Vec<String>,
    pub manual_approval: bool,
}

/// A plan execution, as ARC Region switch keeps it.
#[derive(Clone, Debug)]
pub struct Execution {
    pub plan: String,
    pub id: String,
    pub comment: String,
    pub action: String,
    pub mode: String,
    pub region: String,
    /// `inProgress`, `pendingManualApproval`, `completed`, `canceled`, ...
    pub state: String,
    pub start: i64,
    pub end: Option<i64>,
    pub events: Vec<(String, &'static str, Option<String>)>,
}

#[derive(Default)]
pub struct State {
    pub resources: BTreeMap<String, Resource>,
    pub shifts: Vec<Shift>,
    pub plans: BTreeMap<String, Plan>,
    pub executions: Vec<Execution>,
    /// Every request answered, as `Operation detail`, in order.
    pub calls: Vec<String>,
    /// How many of the next restJson1 requests are answered 429
    /// `ThrottlingException` before anything is done (`throttle_next`).
    throttled: usize,
    next_id: u64,
}

impl State {
    /// An id in ARC's form (a UUID), unique in this stand-in.
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:08x}-7a3c-4e1b-9d2f-{:012x}", 0x5ec0_0000_u32 + self.next_id as u32, self.next_id)
    }
}

pub struct ArcStandIn {
    pub endpoint: String,
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    address: std::net::SocketAddr,
}

impl ArcStandIn {
    pub fn start() -> ArcStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        ArcStandIn { endpoint: format!("http://{address}"), state, stop, address }
    }

    /// The variables that point the binary's two ARC clients here (the SDK's own, per service).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("AWS_ENDPOINT_URL_ARC_ZONAL_SHIFT", self.endpoint.clone()), ("AWS_ENDPOINT_URL_ARC_REGION_SWITCH", self.endpoint.clone())]
    }

    pub fn add_resource(&self, arn: &str, name: &str, zones: &[&str], practice_outcome_alarm: Option<&str>) {
        let resource = Resource { name: name.into(), zones: zones.iter().map(|z| z.to_string()).collect(), practice_outcome_alarm: practice_outcome_alarm.map(str::to_string) };
        self.state.lock().unwrap().resources.insert(arn.into(), resource);
    }

    pub fn add_plan(&self, arn: &str, name: &str, regions: &[&str], manual_approval: bool) {
        let plan = Plan { name: name.into(), regions: regions.iter().map(|r| r.to_string()).collect(), manual_approval };
        self.state.lock().unwrap().plans.insert(arn.into(), plan);
    }

    /// Starts a zonal shift as someone else would (through the same rules
    /// as `StartZonalShift`); its id.
    pub fn start_shift_as_another_team(&self, resource: &str, away_from: &str, comment: &str) -> String {
        let body = json!({ "resourceIdentifier": resource, "awayFrom": away_from, "expiresIn": "2h", "comment": comment });
        let answer = start_shift(&mut self.state.lock().unwrap(), &body, false);
        assert_eq!(answer.status, 201, "{}", String::from_utf8_lossy(&answer.body));
        serde_json::from_slice::<Value>(&answer.body).unwrap()["zonalShiftId"].as_str().unwrap().to_string()
    }

    /// Starts an execution of a plan as someone else would; its id.
    pub fn start_execution_as_another_team(&self, plan: &str, region: &str, comment: &str) -> String {
        let input = json!({ "planArn": plan, "targetRegion": region, "action": "activate", "mode": "graceful", "comment": comment });
        let answer = region_switch(&mut self.state.lock().unwrap(), "StartPlanExecution", &input);
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        let mut found = None;
        for execution in &self.state.lock().unwrap().executions {
            if execution.comment == comment {
                found = Some(execution.id.clone());
            }
        }
        found.unwrap()
    }

    /// Answers the next `requests` zonal-shift requests as ARC does when it
    /// throttles: 429 `ThrottlingException`, nothing done, each recorded as
    /// `Throttled METHOD PATH`. The SDK retries them.
    pub fn throttle_next(&self, requests: usize) {
        self.state.lock().unwrap().throttled = requests;
    }

    pub fn shifts(&self) -> Vec<Shift> {
        self.state.lock().unwrap().shifts.clone()
    }

    pub fn executions(&self) -> Vec<Execution> {
        self.state.lock().unwrap().executions.clone()
    }

    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }
}

impl Drop for ArcStandIn {
    fn drop(&mut self) {
        // Wakes the accept loop so it sees the flag and ends.
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.address);
    }
}

struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

/// One connection: HTTP/1.1 requests, kept alive, until the client closes it.
fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next().map(str::to_string), parts.next().map(str::to_string)) else { return };
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                _ => {}
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let answer = if chunked {
            // The SDK sends these small bodies with a length; a chunked one would be a change worth seeing.
            rest_error(400, "ValidationException", "the stand-in reads only bodies with a Content-Length", json!({}))
        } else {
            route(&mut state.lock().unwrap(), &method, &target, &body)
        };
        let reason = match answer.status {
            200 => "OK",
            201 => "Created",
            404 => "Not Found",
            409 => "Conflict",
            429 => "Too Many Requests",
            _ => "Bad Request",
        };
        let mut head = format!("HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\n", answer.status, answer.body.len());
        for (name, value) in &answer.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(&answer.body)).is_err() {
            return;
        }
    }
}

fn route(state: &mut State, method: &str, target: &str, body: &[u8]) -> Answer {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if let Some(operation) = path.strip_prefix("/service/ArcRegionSwitch/operation/") {
        return match cbor::decode_input(body) {
            Ok(input) => region_switch(state, operation, &input),
            Err(error) => cbor_error(400, "IllegalArgumentException", &format!("the body is not CBOR: {error}")),
        };
    }
    if state.throttled > 0 {
        state.throttled -= 1;
        state.calls.push(format!("Throttled {method} {path}"));
        return rest_error(429, "ThrottlingException", "Rate exceeded", json!({}));
    }
    let input: Value = if body.is_empty() { json!({}) } else { serde_json::from_slice(body).unwrap_or(Value::Null) };
    let segments: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let query: BTreeMap<String, String> =
        query.split('&').filter(|p| !p.is_empty()).filter_map(|p| p.split_once('=')).map(|(k, v)| (percent_decode(k), percent_decode(v))).collect();
    match (method, segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice()) {
        ("GET", ["managedresources", arn]) => {
            state.calls.push(format!("GetManagedResource {arn}"));
            get_managed_resource(state, arn)
        }
        ("POST", ["zonalshifts"]) => {
            state.calls.push(format!(
                "StartZonalShift {} {} {}",
                input["resourceIdentifier"].as_str().unwrap_or(""),
                input["awayFrom"].as_str().unwrap_or(""),
                input["expiresIn"].as_str().unwrap_or("")
            ));
            start_shift(state, &input, false)
        }
        ("POST", ["practiceruns"]) => {
            state.calls.push(format!("StartPracticeRun {} {}", input["resourceIdentifier"].as_str().unwrap_or(""), input["awayFrom"].as_str().unwrap_or("")));
            start_shift(state, &input, true)
        }
        ("DELETE", ["zonalshifts", id]) => {
            state.calls.push(format!("CancelZonalShift {id}"));
            cancel_shift(state, id, false)
        }
        ("DELETE", ["practiceruns", id]) => {
            state.calls.push(format!("CancelPracticeRun {id}"));
            cancel_shift(state, id, true)
        }
        ("GET", ["zonalshifts"]) => {
            state.calls.push(format!("ListZonalShifts {}", query.get("status").map_or("", String::as_str)));
            let items: Vec<Value> = state
                .shifts
                .iter()
                .filter(|s| query.get("status").is_none_or(|status| *status == s.status))
                .filter(|s| query.get("resourceIdentifier").is_none_or(|r| *r == s.resource))
                .map(|s| {
                    let mut item = shift_json(s);
                    item["status"] = json!(s.status);
                    item["shiftType"] = json!(if s.practice_outcome.is_some() { "PRACTICE_RUN" } else { "ZONAL_SHIFT" });
                    item
                })
                .collect();
            rest_ok(200, json!({ "items": items }))
        }
        _ => rest_error(404, "UnknownOperationException", &format!("the stand-in does not answer {method} {path}"), json!({})),
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn rest_ok(status: u16, body: Value) -> Answer {
    Answer { status, headers: vec![("Content-Type", "application/json".into())], body: serde_json::to_vec(&body).unwrap() }
}

/// restJson1's error: the code in `x-amzn-ErrorType`, the message and the error's members in the body.
fn rest_error(status: u16, code: &str, message: &str, mut members: Value) -> Answer {
    members["message"] = json!(message);
    Answer { status, headers: vec![("Content-Type", "application/json".into()), ("x-amzn-ErrorType", code.into())], body: serde_json::to_vec(&members).unwrap() }
}

fn conflict(message: &str, reason: &str, id: &str) -> Answer {
    rest_error(409, "ConflictException", message, json!({ "reason": reason, "zonalShiftId": id }))
}

fn shift_json(shift: &Shift) -> Value {
    let mut item = json!({
        "zonalShiftId": shift.id,
        "resourceIdentifier": shift.resource,
        "awayFrom": shift.away_from,
        "expiryTime": shift.expiry,
        "startTime": shift.start,
        "comment": shift.comment,
    });
    if let Some(outcome) = &shift.practice_outcome {
        item["practiceRunOutcome"] = json!(outcome);
    }
    item
}

fn get_managed_resource(state: &State, arn: &str) -> Answer {
    let Some(resource) = state.resources.get(arn) else {
        return rest_error(404, "ResourceNotFoundException", &format!("resource {arn} is not managed by ARC"), json!({}));
    };
    let active: Vec<&Shift> = state.shifts.iter().filter(|s| s.resource == arn && s.status == "ACTIVE").collect();
    // Traffic leaves the zone an active shift is away from.
    let weights: serde_json::Map<String, Value> = resource.zones.iter().map(|z| (z.clone(), json!(if active.iter().any(|s| s.away_from == *z) { 0.0 } else { 1.0 }))).collect();
    let shifts: Vec<Value> = active
        .iter()
        .map(|s| {
            let mut item = shift_json(s);
            item["appliedStatus"] = json!("APPLIED");
            item["shiftType"] = json!(if s.practice_outcome.is_some() { "PRACTICE_RUN" } else { "ZONAL_SHIFT" });
            item
        })
        .collect();
    let mut answer = json!({
        "arn": arn,
        "name": resource.name,
        "appliedWeights": weights,
        "zonalShifts": shifts,
        "autoshifts": [],
        "zonalAutoshiftStatus": if resource.practice_outcome_alarm.is_some() { "ENABLED" } else { "DISABLED" },
    });
    if let Some(alarm) = &resource.practice_outcome_alarm {
        answer["practiceRunConfiguration"] = json!({
            "blockingAlarms": [],
            "outcomeAlarms": [{ "type": "CLOUDWATCH", "alarmIdentifier": format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}") }],
            "blockedWindows": [],
            "blockedDates": [],
            "allowedWindows": [],
        });
    }
    rest_ok(200, answer)
}

/// `StartZonalShift` (expiry from `expiresIn`, `1m` to `3d`) or
/// `StartPracticeRun` (ARC runs it 30 minutes, PENDING until it ends).
fn start_shift(state: &mut State, input: &Value, practice: bool) -> Answer {
    let text = |key: &str| input[key].as_str().unwrap_or("").to_string();
    let (arn, away_from, comment) = (text("resourceIdentifier"), text("awayFrom"), text("comment"));
    let Some(resource) = state.resources.get(&arn) else {
        return rest_error(404, "ResourceNotFoundException", &format!("resource {arn} is not managed by ARC"), json!({}));
    };
    if !resource.zones.contains(&away_from) {
        return rest_error(400, "ValidationException", &format!("{away_from} is not an Availability Zone of {arn}"), json!({ "reason": "InvalidAz" }));
    }
    if practice && resource.practice_outcome_alarm.is_none() {
        return conflict(&format!("{arn} has no practice-run configuration"), "PracticeConfigurationDoesNotExist", "");
    }
    // ARC's precedence: a zonal shift a customer starts ends an active
    // practice run (INTERRUPTED) and applies; anything else already active
    // refuses the new one.
    if let Some(active) = state.shifts.iter_mut().find(|s| s.resource == arn && s.status == "ACTIVE") {
        if !practice && active.practice_outcome.is_some() {
            active.status = "CANCELED".into();
            active.practice_outcome = Some("INTERRUPTED".into());
        } else {
            let reason = if practice { "SimultaneousZonalShiftsConflict" } else { "ZonalShiftAlreadyExists" };
            return conflict(&format!("{arn} already has an active zonal shift ({})", active.id), reason, &active.id);
        }
    }
    let minutes = if practice {
        30
    } else {
        let expires_in = text("expiresIn");
        let (number, unit) = expires_in.split_at(expires_in.len().saturating_sub(1));
        match (number.parse::<i64>(), unit) {
            (Ok(n), "m") if (1..=4320).contains(&n) => n,
            (Ok(n), "h") if (1..=72).contains(&n) => n * 60,
            _ => {
                return rest_error(
                    400,
                    "ValidationException",
                    &format!("expiresIn `{expires_in}` is not 1m to 3d, in minutes (m) or hours (h)"),
                    json!({ "reason": "InvalidExpiresIn" }),
                );
            }
        }
    };
    let start = now();
    let shift = Shift {
        id: state.new_id(),
        resource: arn,
        away_from,
        comment,
        status: "ACTIVE".into(),
        practice_outcome: practice.then(|| "PENDING".to_string()),
        start,
        expiry: start + minutes * 60,
    };
    let mut answer = shift_json(&shift);
    answer["status"] = json!("ACTIVE");
    state.shifts.push(shift);
    // The codes of the API model (the SDK checks them): StartZonalShift 201 Created, StartPracticeRun 200.
    rest_ok(if practice { 200 } else { 201 }, answer)
}

fn cancel_shift(state: &mut State, id: &str, practice: bool) -> Answer {
    let Some(shift) = state.shifts.iter_mut().find(|s| s.id == id) else {
        return rest_error(404, "ResourceNotFoundException", &format!("no zonal shift {id}"), json!({}));
    };
    if shift.practice_outcome.is_some() != practice {
        let what = if practice { "not a practice run: cancel it with CancelZonalShift" } else { "a practice run: cancel it with CancelPracticeRun" };
        return rest_error(400, "ValidationException", &format!("{id} is {what}"), json!({ "reason": "InvalidZonalShiftId" }));
    }
    if shift.status != "ACTIVE" {
        return conflict(&format!("zonal shift {id} is {}, not active", shift.status), "ZonalShiftStatusNotActive", id);
    }
    shift.status = "CANCELED".into();
    if practice {
        shift.practice_outcome = Some("INTERRUPTED".into());
    }
    let mut answer = shift_json(shift);
    answer["status"] = json!("CANCELED");
    rest_ok(200, answer)
}

fn unfinished(state: &str) -> bool {
    matches!(state, "inProgress" | "pending" | "pendingManualApproval" | "pausedByFailedStep" | "pausedByOperator")
}

fn cbor_ok(body: &Value) -> Answer {
    Answer { status: 200, headers: vec![("Content-Type", "application/cbor".into()), ("smithy-protocol", "rpc-v2-cbor".into())], body: cbor::encode(body) }
}

/// RPCv2-CBOR's error: a map with `__type` and `message`.
fn cbor_error(status: u16, code: &str, message: &str) -> Answer {
    let body = json!({ "__type": format!("com.amazonaws.arcregionswitch#{code}"), "message": message });
    Answer { status, headers: vec![("Content-Type", "application/cbor".into()), ("smithy-protocol", "rpc-v2-cbor".into())], body: cbor::encode(&body) }
}

fn execution_json(execution: &Execution, full: bool) -> Value {
    let mut item = json!({
        "planArn": execution.plan,
        "executionId": execution.id,
        "comment": execution.comment,
        "startTime": execution.start,
        "mode": execution.mode,
        "executionState": execution.state,
        "executionAction": execution.action,
        "executionRegion": execution.region,
    });
    if let Some(end) = execution.end {
        item["endTime"] = json!(end);
    }
    if full && execution.state == "completed" {
        item["actualRecoveryTime"] = json!(format!("PT{}S", execution.end.unwrap_or(execution.start) - execution.start));
    }
    item
}

fn region_switch(state: &mut State, operation: &str, input: &Value) -> Answer {
    let text = |key: &str| input[key].as_str().unwrap_or("").to_string();
    let plan_arn = if operation == "GetPlan" { text("arn") } else { text("planArn") };
    state.calls.push(format!("{operation} {}", if input["executionId"].is_string() { text("executionId") } else { plan_arn.clone() }));
    let Some(plan) = state.plans.get(&plan_arn).cloned() else {
        return cbor_error(404, "ResourceNotFoundException", &format!("no plan {plan_arn}"));
    };
    let find = |state: &State| state.executions.iter().position(|e| e.plan == plan_arn && e.id == text("executionId"));
    match operation {
        "GetPlan" => {
            let mut steps = Vec::new();
            if plan.manual_approval {
                steps.push(json!({ "name": "approve-failover", "executionBlockType": "ManualApproval" }));
            }
            steps.push(json!({ "name": "promote-db", "executionBlockType": "AuroraGlobalDatabase" }));
            cbor_ok(&json!({ "plan": {
                "arn": plan_arn,
                "name": plan.name,
                "executionRole": "arn:aws:iam::123456789012:role/region-switch",
                "owner": "123456789012",
                "regions": plan.regions,
                "recoveryApproach": "activePassive",
                "primaryRegion": plan.regions[0],
                "recoveryTimeObjectiveMinutes": 15,
                "version": "1",
                "updatedAt": now(),
                "workflows": [{ "workflowTargetAction": "activate", "steps": steps }],
            }}))
        }
        "ListPlanExecutions" => {
            let items: Vec<Value> =
                state.executions.iter().filter(|e| e.plan == plan_arn && (!input["state"].is_string() || e.state == text("state"))).map(|e| execution_json(e, false)).collect();
            cbor_ok(&json!({ "items": items }))
        }
        "StartPlanExecution" => {
            if !plan.regions.contains(&text("targetRegion")) {
                return cbor_error(400, "IllegalArgumentException", &format!("{} is not a Region of plan {}", text("targetRegion"), plan.name));
            }
            if let Some(running) = state.executions.iter().find(|e| e.plan == plan_arn && unfinished(&e.state)) {
                return cbor_error(400, "IllegalStateException", &format!("plan {} has an unfinished execution {}", plan.name, running.id));
            }
            let id = state.new_id();
            let mut events = vec![(state.new_id(), "executionStarted", None)];
            let first_state = if plan.manual_approval {
                events.push((state.new_id(), "executionPendingApproval", Some("approve-failover".to_string())));
                "pendingManualApproval"
            } else {
                "inProgress"
            };
            state.executions.push(Execution {
                plan: plan_arn.clone(),
                id: id.clone(),
                comment: text("comment"),
                action: text("action"),
                mode: if input["mode"].is_string() { text("mode") } else { "graceful".into() },
                region: text("targetRegion"),
                state: first_state.into(),
                start: now(),
                end: None,
                events,
            });
            cbor_ok(&json!({ "executionId": id, "plan": plan_arn, "planVersion": "1", "activateRegion": text("targetRegion") }))
        }
        "GetPlanExecution" => match find(state) {
            Some(index) => cbor_ok(&execution_json(&state.executions[index], true)),
            None => cbor_error(404, "ResourceNotFoundException", &format!("no execution {} of plan {}", text("executionId"), plan.name)),
        },
        "ListPlanExecutionEvents" => match find(state) {
            Some(index) => {
                let execution = &state.executions[index];
                let items: Vec<Value> = execution
                    .events
                    .iter()
                    .map(|(id, kind, step)| {
                        let mut event = json!({ "eventId": id, "type": kind, "timestamp": execution.start });
                        if let Some(step) = step {
                            event["stepName"] = json!(step);
                            event["executionBlockType"] = json!("ManualApproval");
                        }
                        event
                    })
                    .collect();
                cbor_ok(&json!({ "items": items }))
            }
            None => cbor_error(404, "ResourceNotFoundException", &format!("no execution {} of plan {}", text("executionId"), plan.name)),
        },
        "CancelPlanExecution" => match find(state) {
            Some(index) => {
                let event = state.new_id();
                let execution = &mut state.executions[index];
                if !unfinished(&execution.state) {
                    return cbor_error(400, "IllegalStateException", &format!("execution {} has ended ({})", execution.id, execution.state));
                }
                execution.state = "canceled".into();
                execution.end = Some(now());
                execution.events.push((event, "executionCanceled", None));
                cbor_ok(&json!({}))
            }
            None => cbor_error(404, "ResourceNotFoundException", &format!("no execution {} of plan {}", text("executionId"), plan.name)),
        },
        // What a person does (gameday never calls it): approving the step lets
        // the rest of the plan run; the stand-in's one other step ends at once.
        "ApprovePlanExecutionStep" => match find(state) {
            Some(index) => {
                let (succeeded, ended) = (state.new_id(), state.new_id());
                let execution = &mut state.executions[index];
                if execution.state != "pendingManualApproval" || text("stepName") != "approve-failover" {
                    return cbor_error(400, "IllegalStateException", &format!("execution {} has no step `{}` waiting for approval", execution.id, text("stepName")));
                }
                if text("approval") != "approve" {
                    return cbor_error(400, "IllegalArgumentException", "the stand-in answers `approve` only");
                }
                execution.state = "completed".into();
                execution.end = Some(now());
                execution.events.push((succeeded, "stepSucceeded", Some("approve-failover".into())));
                execution.events.push((ended, "executionSucceeded", None));
                cbor_ok(&json!({}))
            }
            None => cbor_error(404, "ResourceNotFoundException", &format!("no execution {} of plan {}", text("executionId"), plan.name)),
        },
        other => cbor_error(400, "UnknownOperationException", &format!("the stand-in does not answer {other}")),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// CBOR both ways, with the SDK's own codec (aws-smithy-cbor): JSON values
/// as CBOR maps, arrays, strings and numbers; the members Region switch
/// types as timestamps are written as CBOR timestamps (tag 1).
mod cbor {
    use aws_smithy_cbor::data::Type;
    use aws_smithy_cbor::{Decoder, Encoder};
    use serde_json::Value;

    const TIMESTAMPS: [&str; 4] = ["startTime", "endTime", "updatedAt", "timestamp"];

    pub fn encode(value: &Value) -> Vec<u8> {
        let mut encoder = Encoder::new(Vec::new());
        write(&mut encoder, value, false);
        encoder.into_writer()
    }

    fn write(encoder: &mut Encoder, value: &Value, timestamp: bool) {
        match value {
            Value::Null => {
                encoder.null();
            }
            Value::Bool(b) => {
                encoder.boolean(*b);
            }
            Value::Number(n) if timestamp => {
                encoder.timestamp(&aws_smithy_types::DateTime::from_secs(n.as_i64().unwrap()));
            }
            Value::Number(n) => match n.as_i64() {
                Some(i) => {
                    encoder.long(i);
                }
                None => {
                    encoder.double(n.as_f64().unwrap());
                }
            },
            Value::String(s) => {
                encoder.str(s);
            }
            Value::Array(items) => {
                encoder.array(items.len());
                for item in items {
                    write(encoder, item, false);
                }
            }
            Value::Object(members) => {
                encoder.map(members.len());
                for (key, member) in members {
                    encoder.str(key);
                    write(encoder, member, TIMESTAMPS.contains(&key.as_str()));
                }
            }
        }
    }

    /// A request's top-level map: its strings and integers (every member gameday sends is one).
    pub fn decode_input(body: &[u8]) -> Result<Value, String> {
        let mut decoder = Decoder::new(body);
        let mut input = serde_json::Map::new();
        if body.is_empty() {
            return Ok(Value::Object(input));
        }
        let length = decoder.map().map_err(|e| e.to_string())?;
        let mut read = 0u64;
        loop {
            match length {
                Some(n) if read == n => break,
                None if matches!(decoder.datatype().map_err(|e| e.to_string())?, Type::Break) => break,
                _ => {}
            }
            let key = decoder.string().map_err(|e| e.to_string())?;
            let value = match decoder.datatype().map_err(|e| e.to_string())? {
                Type::String | Type::StringIndef => Value::String(decoder.string().map_err(|e| e.to_string())?),
                Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I8 | Type::I16 | Type::I32 | Type::I64 => Value::from(decoder.long().map_err(|e| e.to_string())?),
                _ => {
                    decoder.skip().map_err(|e| e.to_string())?;
                    Value::Null
                }
            };
            input.insert(key, value);
            read += 1;
        }
        Ok(Value::Object(input))
    }
}
