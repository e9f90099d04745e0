// Package pipeline is the core of cardverify: the vocabulary every other
// package speaks (Record, Outcome, Status, Answer, Call), the small interfaces
// it consumes (a row source, a checkpoint, a verifier, a result sink), and the
// orchestration that turns a customer list into verdicts: dispatch, dedup,
// rate limiting, the worker pool, retries, the budget and progress.
//
// pipeline imports no other package of this module. Readers, writers, the
// SQLite checkpoint and the Juhe client implement its interfaces and import it
// for its types only.
//
// # Glossary
//
// One name for each concept, from the reader to the writer. A field of
// another name for the same thing is named here with it.
//
//   - row number: the 1-based number of a row of the input: the sheet row
//     of a workbook, the record number (header and rows above it counted)
//     of a text file. Its name is Row wherever it is a row's own number:
//     Record.Row where a reader makes it, Row.Row in what the pipeline
//     gives the checkpoint, Result.Row in what it gives back,
//     InputError.Row, Discrepancy.Row; every message says "row N" with it.
//     Row numbers only grow along the input.
//   - record: one row of the input as a reader read it (Record), of a
//     RowKind: data, preamble, header or blank. Only data rows are verified.
//   - name, card: the normalised customer name and card number of a data
//     row (Record.Name, Record.Card, Row.Name, Row.Card), exactly as they are
//     sent to the API. They are plaintext in memory only: no checkpoint,
//     history, log or error holds them. A field named Name or Card is
//     always plaintext.
//   - pair: the (name, card) of a data row. Rows with the same pair share
//     one call and one verdict (dedup).
//   - pair key, card key: the keyed fingerprints (Key) of a pair and of a
//     card alone, by which the checkpoint and the history know a pair
//     without holding it: Known.Pair, Call.Pair, Result.Pair for the pair;
//     Known.CardKey, Call.CardKey for the card. A Key is never plaintext.
//   - first row: the row number of the first valid row of a pair. It is
//     the pair's one identity in a job once planned, named FirstRow
//     wherever it is meant: the checkpoint gives it (Known.FirstRow), the
//     calls of the pair record it (Call.FirstRow) and the pair's outcome is
//     recorded under it (Outcome.FirstRow). Every later row of the pair is
//     a duplicate: its Outcome.DupOf is the first row.
//   - call: one HTTP request to the API for a pair (Call), recorded in the
//     checkpoint's ledger before it is sent (Checkpoint.Begin) and when it
//     ends (Checkpoint.End). Attempt counts the calls of a pair in one run.
//   - answer: what one call returned, classified (Answer, Class).
//   - billed: an answer the vendor charges for, error_code 0 (Call.Billed,
//     Stats.Billed). Possibly billed: a call that may have reached the
//     vendor without an intact answer; the vendor's bill is at most billed
//     plus possibly billed.
//   - may reach the bank: a call that counts toward the card's daily limit
//     (Call.MayReachBank), counted per China day.
//   - outcome: the verdict on a pair as the checkpoint records it
//     (Outcome), under its first row: its Status, and the API's res, jobid,
//     error_code and reason when there was an answer. The checkpoint gives
//     it back to every row of the pair (Result: the row's number, the
//     pair's outcome, DupOf on a duplicate).
//   - status: where a row stands (Status): pending, match, mismatch,
//     invalid, rejected, deferred or failed; Counts is a count per status.
//   - verdict: a billed match or mismatch, with its res and jobid
//     (Verdict, in the history of earlier jobs, which a run may reuse).
//   - reason: why a row has its status, or why a run stopped: a Code with
//     its parameters, encoded by Reason, rendered in zh or en by package
//     msg only where a person reads it.
//   - job: one input list and its checkpoint, verified over one or more
//     runs. run: one invocation of Run on a job; Stats is a run's own
//     figures.
//   - masked card: a card's first 6 and last 4 digits, one * for each
//     digit between (MaskCard): the one mask of the module.
//   - China time: every time a person reads, and every day the API's limits
//     count (ChinaTime, ChinaDay).
package pipeline
