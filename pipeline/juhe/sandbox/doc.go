// Package sandbox is a simulated Juhe bank card two-element API: NewHandler
// gives it as an http.Handler, which `cardverify sandbox` and `cardverify run
// --sandbox` serve, and which package juhetest wraps in a test server on
// 127.0.0.1 (in the style of net/http/httptest). Nothing it answers is a real
// verdict. It is production code: it imports neither testing nor httptest,
// so the cardverify binary links neither.
//
// It serves both endpoints, /verifybankcard/query and
// /verifybankcard/queryEncry (whose realname and bankcard it decrypts with
// Options.OpenID), over GET or POST like the real API, and logs every request
// so that tests can assert what a client sent (POST, no key in the URL,
// jobid=1, the decrypted name and card).
//
// # How a request is answered
//
// Checks come first, in this order:
//
//  1. A path other than the two endpoints gets HTTP 404, a method other than
//     GET or POST HTTP 405.
//  2. No key, or a key other than Options.Key (when set) → 10001.
//  3. The encrypted endpoint with no Options.OpenID → 10004.
//  4. realname or bankcard missing or empty, or a field of the encrypted
//     endpoint that does not decrypt with the openid → 218808.
//
// Then the first unused scripted Reply of the card (Script), if any; then the
// fault switches: above the QPS limit → 10011, then at their rates an HTML 502
// page, a truncated JSON answer, or Options.FailCode. Then the default rule,
// which depends on the card only:
//
//   - A card that is not 12 to 19 digits → 218804 (银行卡号不合法).
//   - A special card, "999999" followed by any digits and ending in six
//     digits that are an error code of the API document (zero-padded), gets
//     that code: 9999990000218805 → 218805 (姓名不合法), 9999990000010001
//     → 10001, 9999990000218866 → 218866, and so on for every code in
//     juhe.Codes. This lets a user try every path of the tool.
//   - Otherwise a verdict: a card whose last digit is 0 or 1 does not match
//     the name (res 2, 不一致); any other card matches (res 1, 一致). So
//     about 80% of random cards match.
//
// Every answer is visibly simulated: the reason ends in "(模拟)" (for example
// "成功(模拟)"), and the jobid, returned only when the request has jobid=1,
// is "SANDBOX" followed by 16 hexadecimal digits that are unique within a
// Handler and depend only on Options.Seed and the order of the calls. Every
// response also carries the header X-Cardverify-Sandbox: 1, by which
// juhe.Client marks its answers Simulated.
//
// MatchCard, MismatchCard and CodeCard make Luhn-valid cards for each of
// these answers; testdata/juhe/sandbox-cards.csv lists one of each.
//
// # Load
//
// The fake is built to serve tens of thousands of requests per second: the
// switches are atomics, no lock is held while a request waits out its
// latency, and the request log stops growing at Options.MaxLog entries
// (counters keep counting).
package sandbox
