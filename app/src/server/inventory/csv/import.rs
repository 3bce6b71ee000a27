//! CSV import of addresses into one network, all or nothing: every line is checked first
//! (its own fields, then against what the network holds) and the report names each bad
//! line; only a file without a single error is written, in one transaction.
//!
//! Columns are `ip, status, owner, hostname, note`. A first line naming its columns (as the
//! export writes them, `address` for `ip`, extra columns ignored) may reorder them, so an
//! exported file imports back as it is.

use std::collections::HashMap;

use sea_orm::sea_query::{CaseStatement, Expr, SimpleExpr};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set, SqlErr};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::{AddressStatus, ImportLineError, ImportReport};
use crate::server::admin::audit;
use crate::server::auth::guard::Caller;
use crate::server::entities::{address, address_event};
use crate::server::inventory::addresses::Holder;
use crate::server::inventory::csv::unguard_formula;
use crate::server::inventory::ip::{self, Cidr};
use crate::server::inventory::networks;

/// Most lines one import may hold; a bigger file is split by the user, so one transaction
/// never holds the database for long.
pub const MAX_LINES: usize = 100_000;
/// Errors listed in a report; the rest are counted.
pub const MAX_REPORTED: usize = 200;

const REASON: &str = "imported from CSV";

/// One valid line of a file.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub number: u64,
    pub n: u128,
    pub status: AddressStatus,
    pub holder: HolderFields,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct HolderFields {
    pub owner: String,
    pub hostname: String,
    pub note: String,
}

/// Where each field sits in a record.
struct Columns {
    ip: usize,
    status: Option<usize>,
    owner: Option<usize>,
    hostname: Option<usize>,
    note: Option<usize>,
}

impl Columns {
    const POSITIONAL: Columns = Columns {
        ip: 0,
        status: Some(1),
        owner: Some(2),
        hostname: Some(3),
        note: Some(4),
    };

    /// The columns a header line names, or `None` when the line is data.
    fn from_header(record: &csv::StringRecord) -> Option<Columns> {
        let names: Vec<String> = record.iter().map(|f| f.trim().to_lowercase()).collect();
        let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
        let ip = find(&["ip", "address"])?;
        Some(Columns {
            ip,
            status: find(&["status"]),
            owner: find(&["owner"]),
            hostname: find(&["hostname", "host"]),
            note: find(&["note"]),
        })
    }
}

fn parse_status(text: &str) -> Result<AddressStatus, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(AddressStatus::Allocated);
    }
    AddressStatus::ALL
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(text) || s.label().eq_ignore_ascii_case(text))
        .ok_or_else(|| {
            let known: Vec<&str> = AddressStatus::ALL.iter().map(|s| s.as_str()).collect();
            format!("`{text}` is not a status; use one of {}.", known.join(", "))
        })
}

/// Reads a file into lines for `cidr`, or every line's error. Nothing here looks at the
/// database.
pub fn parse(text: &str, cidr: &Cidr) -> Result<Vec<Line>, Vec<ImportLineError>> {
    let (lines, errors) = read(text, cidr);
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

/// Reads a file into the lines that can be read for `cidr` and the errors of those that
/// cannot, so the import can go on to check the good ones against the network and report
/// every bad line at once.
fn read(text: &str, cidr: &Cidr) -> (Vec<Line>, Vec<ImportLineError>) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut columns = None;
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<u128, u64> = HashMap::new();
    let (first, last) = cidr.allocatable();
    // The reader counts blank lines it skips into neither its line numbers nor the start
    // of the next record, so lines are counted here from each record's first byte, going
    // on from the previous record (records come in order).
    let bytes = text.as_bytes();
    let mut counted = (0usize, 1u64);
    let mut line_at = |byte: u64| {
        let mut start = (byte as usize).min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\n' | b'\r') {
            start += 1;
        }
        let (from, line) = counted;
        let from = from.min(start);
        let line = line + bytes[from..start].iter().filter(|&&b| b == b'\n').count() as u64;
        counted = (start, line);
        line
    };
    for (index, record) in reader.records().enumerate() {
        let number = (index + 1) as u64;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let number = e.position().map_or(number, |p| line_at(p.byte()));
                errors.push(ImportLineError {
                    line: number,
                    message: format!("not readable as CSV: {e}"),
                });
                continue;
            }
        };
        let number = record.position().map_or(number, |p| line_at(p.byte()));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if columns.is_none() {
            if let Some(header) = Columns::from_header(&record) {
                columns = Some(header);
                continue;
            }
            columns = Some(Columns::POSITIONAL);
        }
        if lines.len() + errors.len() >= MAX_LINES {
            errors.push(ImportLineError {
                line: number,
                message: format!("a file may hold at most {MAX_LINES} addresses; split it."),
            });
            break;
        }
        let cols = columns.as_ref().expect("set above");
        let field = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
        let mut fail = |message: String| {
            errors.push(ImportLineError {
                line: number,
                message,
            })
        };
        let text = field(Some(cols.ip));
        let addr = match ip::parse_address(text) {
            Ok(a) => a,
            Err(e) => {
                fail(e.to_string());
                continue;
            }
        };
        if !cidr.contains(addr) {
            fail(format!("{addr} is not in the network {cidr}."));
            continue;
        }
        let n = ip::to_u128(addr);
        if n < first || n > last {
            fail(format!(
                "{addr} is the network's {} and is never allocated.",
                if n < first {
                    "own address"
                } else {
                    "broadcast address"
                }
            ));
            continue;
        }
        if let Some(earlier) = seen.insert(n, number) {
            fail(format!("{addr} is on line {earlier} already."));
            continue;
        }
        let status = match parse_status(field(cols.status)) {
            Ok(s) => s,
            Err(message) => {
                fail(message);
                continue;
            }
        };
        let text = |i: Option<usize>| unguard_formula(field(i)).to_string();
        let holder = Holder {
            owner: text(cols.owner),
            hostname: text(cols.hostname),
            note: text(cols.note),
        };
        match holder.validated() {
            Ok(h) => lines.push(Line {
                number,
                n,
                status,
                holder: HolderFields {
                    owner: h.owner,
                    hostname: h.hostname,
                    note: h.note,
                },
            }),
            Err(e) => fail(e.to_string()),
        }
    }
    (lines, errors)
}

fn rejected(mut errors: Vec<ImportLineError>) -> ImportReport {
    let total = errors.len() as u64;
    errors.truncate(MAX_REPORTED);
    ImportReport {
        imported: 0,
        unchanged: 0,
        error_count: total,
        errors,
    }
}

/// Lines read or written per statement.
const BATCH: usize = 500;

/// Imports `text` into the network `network_id`. A report with errors changed nothing.
pub async fn import(actor: &Caller, network_id: i64, text: &str) -> Result<ImportReport, AppError> {
    let net = networks::find(&actor.state.db, network_id).await?;
    let cidr = networks::cidr_of(&net)?;
    let (lines, mut errors) = read(text, &cidr);
    if lines.is_empty() {
        if errors.is_empty() {
            return Err(AppError::BadRequest("The file holds no addresses.".into()));
        }
        return Ok(rejected(errors));
    }
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    let net = networks::lock(&txn, network_id).await?;
    // Everything is checked against the network before anything is written, so the report
    // lists every line that cannot be imported, whatever its fault, not only the first.
    let mut rows: HashMap<u128, address::Model> = HashMap::with_capacity(lines.len());
    for chunk in lines.chunks(BATCH) {
        let ips: Vec<Vec<u8>> = chunk.iter().map(|l| l.n.to_be_bytes().to_vec()).collect();
        for row in address::Entity::find()
            .filter(address::Column::Ip.is_in(ips))
            .all(&txn)
            .await?
        {
            if let Some(addr) = ip::from_bytes(&row.ip) {
                rows.insert(ip::to_u128(addr), row);
            }
        }
    }
    errors.extend(lines.iter().filter_map(|line| {
        let row = rows.get(&line.n)?;
        (row.status != AddressStatus::Free).then(|| ImportLineError {
            line: line.number,
            message: format!(
                "{} is {} here already; only free addresses are imported.",
                ip::from_u128(line.n),
                row.status.label()
            ),
        })
    }));
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        txn.rollback().await?;
        return Ok(rejected(errors));
    }
    let unchanged = lines
        .iter()
        .filter(|l| l.status == AddressStatus::Free)
        .count() as u64;
    let to_import: Vec<Line> = lines
        .into_iter()
        .filter(|l| l.status != AddressStatus::Free)
        .collect();
    let now = OffsetDateTime::now_utc();
    let mut tally: HashMap<AddressStatus, i64> = HashMap::new();
    for chunk in to_import.chunks(BATCH) {
        let (update, insert): (Vec<&Line>, Vec<&Line>) =
            chunk.iter().partition(|l| rows.contains_key(&l.n));
        let mut ids: Vec<(i64, &Line)> = update.iter().map(|l| (rows[&l.n].id, *l)).collect();
        update_free_rows(&txn, &ids, now).await?;
        ids.extend(insert_rows(&txn, net.id, &insert, now).await?);
        address_event::Entity::insert_many(ids.iter().map(|(id, line)| {
            address_event::ActiveModel {
                address_id: Set(*id),
                at: Set(now),
                actor_id: Set(Some(actor.user.id)),
                actor_name: Set(actor.user.name.clone()),
                from_status: Set(AddressStatus::Free),
                to_status: Set(line.status),
                reason: Set(REASON.to_string()),
                evidence: Set(None),
                owner: Set(line.holder.owner.clone()),
                hostname: Set(line.holder.hostname.clone()),
                note: Set(line.holder.note.clone()),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await?;
        for line in chunk {
            *tally.entry(line.status).or_default() += 1;
        }
    }
    for (status, n) in tally {
        networks::shift(&txn, net.id, status, n).await?;
    }
    let imported = to_import.len() as u64;
    audit::record(
        &txn,
        actor,
        "network.import",
        &net.cidr,
        None,
        Some(format!("{imported} addresses imported from CSV")),
    )
    .await?;
    txn.commit().await?;
    Ok(ImportReport {
        imported,
        unchanged,
        error_count: 0,
        errors: Vec::new(),
    })
}

fn problem_of(status: AddressStatus) -> Option<String> {
    matches!(
        status,
        AddressStatus::UsedInNetwork | AddressStatus::BlockedByDnsbl
    )
    .then(|| {
        format!(
            "Imported as {}; the next check cycle checks it again.",
            status.label()
        )
    })
}

fn changed_meanwhile() -> AppError {
    AppError::Conflict(
        "Addresses of this network changed during the import; nothing was imported. Try again."
            .into(),
    )
}

/// Sets the rows `ids` (free when read) to their lines' values: one conditional update
/// for the whole batch, which must change every row or the import fails.
async fn update_free_rows(
    txn: &DatabaseTransaction,
    ids: &[(i64, &Line)],
    now: OffsetDateTime,
) -> Result<(), AppError> {
    if ids.is_empty() {
        return Ok(());
    }
    let by_id = |value: &dyn Fn(&Line) -> sea_orm::Value| -> SimpleExpr {
        let mut case = CaseStatement::new();
        for (id, line) in ids {
            case = case.case(
                Expr::col(address::Column::Id).eq(*id),
                Expr::val(value(line)),
            );
        }
        case.into()
    };
    let result = address::Entity::update_many()
        .col_expr(
            address::Column::Status,
            by_id(&|l| l.status.as_str().into()),
        )
        .col_expr(
            address::Column::Owner,
            by_id(&|l| l.holder.owner.clone().into()),
        )
        .col_expr(
            address::Column::Hostname,
            by_id(&|l| l.holder.hostname.clone().into()),
        )
        .col_expr(
            address::Column::Note,
            by_id(&|l| l.holder.note.clone().into()),
        )
        .col_expr(
            address::Column::Problem,
            by_id(&|l| problem_of(l.status).into()),
        )
        .col_expr(
            address::Column::ProblemSince,
            by_id(&|l| problem_of(l.status).map(|_| now).into()),
        )
        .col_expr(address::Column::StatusChangedAt, Expr::value(now))
        .filter(address::Column::Id.is_in(ids.iter().map(|(id, _)| *id)))
        .filter(address::Column::Status.eq(AddressStatus::Free))
        .exec(txn)
        .await?;
    if result.rows_affected != ids.len() as u64 {
        return Err(changed_meanwhile());
    }
    Ok(())
}

/// Inserts rows for addresses of a sparse network that have none; returns their ids.
async fn insert_rows<'a>(
    txn: &DatabaseTransaction,
    network_id: i64,
    lines: &[&'a Line],
    now: OffsetDateTime,
) -> Result<Vec<(i64, &'a Line)>, AppError> {
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let inserted = address::Entity::insert_many(lines.iter().map(|l| address::ActiveModel {
        network_id: Set(network_id),
        ip: Set(l.n.to_be_bytes().to_vec()),
        status: Set(l.status),
        owner: Set(l.holder.owner.clone()),
        hostname: Set(l.holder.hostname.clone()),
        note: Set(l.holder.note.clone()),
        status_changed_at: Set(now),
        problem: Set(problem_of(l.status)),
        problem_since: Set(problem_of(l.status).map(|_| now)),
        ..Default::default()
    }))
    .exec_without_returning(txn)
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(changed_meanwhile())
        }
        Err(e) => return Err(e.into()),
    }
    let ips: Vec<Vec<u8>> = lines.iter().map(|l| l.n.to_be_bytes().to_vec()).collect();
    let ids: HashMap<Vec<u8>, i64> = address::Entity::find()
        .filter(address::Column::Ip.is_in(ips))
        .all(txn)
        .await?
        .into_iter()
        .map(|r| (r.ip, r.id))
        .collect();
    lines
        .iter()
        .map(|l| {
            ids.get(l.n.to_be_bytes().as_slice())
                .map(|id| (*id, *l))
                .ok_or(AppError::Internal)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr() -> Cidr {
        Cidr::parse("198.18.0.0/24").unwrap()
    }

    fn messages(text: &str) -> Vec<(u64, String)> {
        parse(text, &cidr())
            .unwrap_err()
            .into_iter()
            .map(|e| (e.line, e.message))
            .collect()
    }

    #[test]
    fn positional_lines_default_to_allocated() {
        let lines = parse(
            "198.18.0.5,,Acme,web1.example,first\n198.18.0.6,reserved\n",
            &cidr(),
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].status, AddressStatus::Allocated);
        assert_eq!(lines[0].holder.owner, "Acme");
        assert_eq!(lines[0].holder.hostname, "web1.example");
        assert_eq!(lines[1].status, AddressStatus::Reserved);
        assert_eq!(lines[1].number, 2);
    }

    #[test]
    fn an_exported_file_reads_back_by_its_header() {
        let text = "address,status,owner,hostname,note,status_changed_at\n\
                    198.18.0.9,being_checked,Globex,,\"a, quoted note\",2026-11-22 10:00:00 UTC\n";
        let lines = parse(text, &cidr()).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].n, ip::to_u128("198.18.0.9".parse().unwrap()));
        assert_eq!(lines[0].status, AddressStatus::BeingChecked);
        assert_eq!(lines[0].holder.note, "a, quoted note");
        assert_eq!(lines[0].number, 2);
    }

    proptest::proptest! {
        /// Whatever a file holds, it is read or refused line by line, never a panic; a
        /// line that is read is an address of the network.
        #[test]
        fn any_file_is_read_or_refused(text in "([0-9a-f.:,/\"'=@ a-z\t-]{0,60}\n){0,8}") {
            if let Ok(lines) = parse(&text, &cidr()) {
                for line in lines {
                    proptest::prop_assert!(cidr().contains(ip::from_u128(line.n)));
                }
            }
        }
    }

    #[test]
    fn an_exported_formula_guard_is_taken_off() {
        let text = "address,status,owner,hostname,note\n\
                    198.18.0.9,allocated,'=HYPERLINK(\"x\"),,'@note\n";
        let lines = parse(text, &cidr()).unwrap();
        assert_eq!(lines[0].holder.owner, "=HYPERLINK(\"x\")");
        assert_eq!(lines[0].holder.note, "@note");
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let text = "ip,status,owner\n\
                    198.18.0.1,allocated,ok\n\
                    198.18.1.1,allocated,x\n\
                    198.18.0.010,,x\n\
                    198.18.0.1,,dup\n\
                    198.18.0.2,taken,x\n\
                    198.18.0.255\n\
                    \n\
                    nonsense\n";
        let got = messages(text);
        let lines: Vec<u64> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 9]);
        assert_eq!(got[0].1, "198.18.1.1 is not in the network 198.18.0.0/24.");
        assert!(got[1].1.contains("198.18.0.10"), "{}", got[1].1);
        assert_eq!(got[2].1, "198.18.0.1 is on line 2 already.");
        assert!(
            got[3].1.starts_with("`taken` is not a status"),
            "{}",
            got[3].1
        );
        assert_eq!(
            got[4].1,
            "198.18.0.255 is the network's broadcast address and is never allocated."
        );
    }

    #[test]
    fn bad_holder_fields_are_refused() {
        let got = messages("198.18.0.7,allocated,,bad host name\n");
        assert_eq!(
            got,
            [(1, "`bad host name` is not a host name.".to_string())]
        );
    }
}
