package msg

import (
	"strconv"

	"github.com/cardverify/cardverify/pipeline"
)

// cardLimit is the card daily limit as the texts quote it: the pipeline's
// rule, not a number of their own.
var cardLimit = strconv.Itoa(pipeline.CardDailyLimit)

// Codes of the messages only the command line says. The codes emitted by
// pipeline and its implementations are declared in package pipeline.
const (
	// The end of a run (stderr).
	RunRows         pipeline.Code = "run-rows"          // rows, match, mismatch, invalid, rejected, deferred, failed, pending
	RunNothing      pipeline.Code = "run-nothing"       // took
	RunThis         pipeline.Code = "run-this"          // calls, billed, skipped, took
	RunJob          pipeline.Code = "run-job"           // calls, billed, possibly billed
	RunReused       pipeline.Code = "run-reused"        // rows, oldest (China time)
	HistNegative    pipeline.Code = "hist-negative"     // --purge-older-than was given a negative age
	HistReuseNeg    pipeline.Code = "hist-reuse-neg"    // --reuse-within or --price was given a negative value
	HistSandbox     pipeline.Code = "hist-sandbox"      // a sandbox run was given --reuse-within or --history
	HistNone        pipeline.Code = "hist-none"         // history shows an empty history
	HistImported    pipeline.Code = "hist-imported"     // verdicts, checkpoint
	HistPurged      pipeline.Code = "hist-purged"       // verdicts, before (China time)
	HistPath        pipeline.Code = "hist-path"         // path
	HistVerdicts    pipeline.Code = "hist-verdicts"     // verdicts, match, mismatch
	HistSpan        pipeline.Code = "hist-span"         // oldest, newest
	HistImportedEP  pipeline.Code = "hist-imported-ep"  // the endpoint shown for verdicts imported from a checkpoint
	RunCost         pipeline.Code = "run-cost"          // price, cost
	ReuseSaved      pipeline.Code = "reuse-saved"       // yuan
	DryReusable     pipeline.Code = "dry-reusable"      // rows, oldest (China time)
	DryToPay        pipeline.Code = "dry-to-pay"        // calls
	DryCost         pipeline.Code = "dry-cost"          // most yuan, price
	ReuseSaves      pipeline.Code = "reuse-saves"       // yuan
	RunNoVerdict    pipeline.Code = "run-no-verdict"    // rows billed without a verdict
	RunPaused       pipeline.Code = "run-paused"        // until (China time)
	ErrConfig       pipeline.Code = "err-config"        // what happened (rendered)
	RunLost         pipeline.Code = "run-lost"          // lost answers
	RunSimulated    pipeline.Code = "run-simulated"     // simulated calls
	RunOutput       pipeline.Code = "run-output"        // path
	RunSandbox      pipeline.Code = "run-sandbox"       // simulated answers
	RunStopping     pipeline.Code = "run-stopping"      // first Ctrl-C
	RunResume       pipeline.Code = "run-resume"        // why it stopped (rendered)
	RunLeft         pipeline.Code = "run-left"          // pending, failed, deferred
	RunBudget       pipeline.Code = "run-budget"        // billed in the job, --max-billed
	SandboxStart    pipeline.Code = "sandbox-start"     // the notice of run --sandbox
	Warning         pipeline.Code = "warning"           // the warning (rendered)
	TempRemoved     pipeline.Code = "temp-removed"      // count, output
	WarnFlagSecret  pipeline.Code = "warn-flag-secret"  // flag, variable
	WarnPlainHTTP   pipeline.Code = "warn-plain-http"   // base URL
	RunAbandoned    pipeline.Code = "run-abandoned"     // a second Ctrl-C
	RunNoOutput     pipeline.Code = "run-no-output"     // output, input, checkpoint
	RunStoppedEarly pipeline.Code = "run-stopped-early" // interrupted before the first call

	// The dry run (stdout).
	DryDid      pipeline.Code = "dry-did"       // input, encoding (rendered), rows, valid, invalid, duplicates
	DryEncoding pipeline.Code = "dry-encoding"  // encoding name
	DryEncGiven pipeline.Code = "dry-enc-given" // encoding name
	DryEncXLSX  pipeline.Code = "dry-enc-xlsx"  // the encoding line of a dry run on a workbook
	DryMost     pipeline.Code = "dry-most"      // at most billed calls
	DryNoCall   pipeline.Code = "dry-no-call"   // the dry run's reminder that it called and billed nothing
	DryOutput   pipeline.Code = "dry-output"    // path

	// status (stdout).
	StatusDB       pipeline.Code = "status-db"        // path
	StatusInput    pipeline.Code = "status-input"     // path, size, sha256
	StatusKey      pipeline.Code = "status-key"       // key ID
	StatusEndpoint pipeline.Code = "status-endpoint"  // endpoint
	StatusSandbox  pipeline.Code = "status-sandbox"   // the job was run against the simulated API
	StatusRuns     pipeline.Code = "status-runs"      // runs, first, last
	StatusRows     pipeline.Code = "status-rows"      // rows
	StatusCalls    pipeline.Code = "status-calls"     // calls, billed, possibly billed
	StatusLost     pipeline.Code = "status-lost"      // lost answers
	StatusUnread   pipeline.Code = "status-unread"    // rows not read yet
	StatusUncount  pipeline.Code = "status-uncounted" // the row counts cover only the rows read so far

	// export and audit.
	ExportDone      pipeline.Code = "export-done"        // rows, match, mismatch, pending, path
	ExportStopped   pipeline.Code = "export-stopped"     // path
	AuditRow        pipeline.Code = "audit-row"          // row, problem (rendered)
	AuditOK         pipeline.Code = "audit-ok"           // rows
	AuditDiffer     pipeline.Code = "audit-differ"       // rows differing, rows
	AuditNoCols     pipeline.Code = "audit-no-cols"      // the zh and en status headers
	AuditNoColsHint pipeline.Code = "audit-no-cols-hint" // audit was given a file cardverify did not write

	// Errors as cmd prints them.
	ErrPrefix      pipeline.Code = "err-prefix"       // the message
	ErrRow         pipeline.Code = "err-row"          // row, message
	ErrPath        pipeline.Code = "err-path"         // path, message
	ErrCause       pipeline.Code = "err-cause"        // message, the system's error verbatim
	ErrHint        pipeline.Code = "err-hint"         // message, hint
	ErrAPI         pipeline.Code = "err-api"          // error_code, vendor's reason
	ErrAPIUnusable pipeline.Code = "err-api-unusable" // why (rendered)
	UsageFlags     pipeline.Code = "usage-flags"      // the flag package's error, verbatim
	UsageArgs      pipeline.Code = "usage-args"       // command, what it takes, count given
	UsageCmd       pipeline.Code = "usage-cmd"        // the unknown command
	UsageNoArgs    pipeline.Code = "usage-no-args"    // command, count given
	SandboxServe   pipeline.Code = "sandbox-serve"    // URL, openid
	SandboxTry     pipeline.Code = "sandbox-try"      // openid, URL
	UsageNone      pipeline.Code = "usage-none"       // no subcommand given
	UsageOneOf     pipeline.Code = "usage-one-of"     // flag, allowed, given
	UsageNums      pipeline.Code = "usage-nums"       // a numeric flag of run is out of range
	UsageStop      pipeline.Code = "usage-stop-at"    // given
	UsageKey       pipeline.Code = "usage-key"        // run without an API key and without --sandbox
	UsageOpen      pipeline.Code = "usage-openid"     // the encrypted endpoint without an openid
	UsageLine      pipeline.Code = "usage-line"       // the synopsis of a command
	ErrGeneric     pipeline.Code = "err-generic"      // a system error verbatim
)

// Codes of serve, the web console (its pages have their own texts in
// cmd/internal/web).
const (
	ServeURL      pipeline.Code = "serve-url"      // URL, data directory
	ServeStopping pipeline.Code = "serve-stopping" // first Ctrl-C
	ServePassword pipeline.Code = "serve-password" // address
	ServeEmptyPw  pipeline.Code = "serve-empty-pw" // variable
	ServeNums     pipeline.Code = "serve-nums"     // a numeric flag of serve is out of range
	ServeNoData   pipeline.Code = "serve-no-data"  // the system's error
)

var catalogue = map[pipeline.Code]entry{
	// Problems of a row.
	pipeline.CardEmpty:       {"卡号为空：请填写卡号或删除该行", "card number is empty; fill it in or delete the row"},
	pipeline.CardChars:       {"卡号含有数字以外的字符：只保留数字", "card number has characters other than digits; keep only its digits"},
	pipeline.CardENote:       {"卡号是科学计数法（表格显示长数字的方式），末几位已丢失：请把该列设为文本格式并重新录入卡号", "card number is in E notation, as a spreadsheet shows a long number: its last digits are lost; format the column as Text and re-enter the card numbers"},
	pipeline.CardNumber:      {"卡号在工作簿中存为数字：Excel 只保留 15 位有效数字，卡号已丢失；请把该列设为文本格式并重新录入卡号", "card stored as a number in the workbook: Excel keeps only 15 digits, so the number is lost; format the column as Text and re-enter the card numbers"},
	pipeline.CardFraction:    {"卡号在工作簿中存为带小数的数字：请把该列设为文本格式并重新录入卡号", "card stored as a number with a fraction in the workbook; format the column as Text and re-enter the card number"},
	pipeline.CardDigits:      {"卡号有 %[1]s 位数字；银行卡号为 %[2]s 到 %[3]s 位", "card number has %[1]s digits; a bank card has %[2]s to %[3]s"},
	pipeline.NameEmpty:       {"姓名为空：请填写姓名或删除该行", "name is empty; fill it in or delete the row"},
	pipeline.NameDigits:      {"姓名含有数字：请检查姓名列与卡号列是否颠倒", "name contains digits; check that the name and card columns are not swapped"},
	pipeline.NameControl:     {"姓名含有控制字符：请重新输入", "name contains control characters; retype it"},
	pipeline.NameEncoding:    {"姓名含有按文件编码无法识别的字节：请用 --encoding 指定编码（gbk、utf-8、utf-16le）", "name has bytes that are not text in the file's encoding; give the encoding with --encoding (gbk, utf-8, utf-16le)"},
	pipeline.NameLong:        {"姓名有 %[1]s 个字符；接口最多接受 %[2]s 个", "name has %[1]s characters; the API accepts at most %[2]s"},
	pipeline.NameBidi:        {"姓名含有看不见的文字方向字符（U+200E、U+202E 等），会使显示的姓名与发送的不同：请重新输入", "name contains invisible text-direction characters (U+200E, U+202E and the like), which can make the name shown differ from the name sent; retype it"},
	pipeline.NameNoLetter:    {"姓名没有文字，只有符号、表情或看不见的字符：请填写本人姓名", "name has no letter, only symbols, emoji or invisible characters; fill in the person's name"},
	pipeline.NameFormula:     {"姓名以“%[1]s”开头，像表格公式；姓名应以文字开头：请删除“%[1]s”或修改该单元格", "name starts with '%[1]s', as a spreadsheet formula does; a name starts with a letter: remove the '%[1]s' or fix the cell"},
	pipeline.NameFormat:      {"姓名含有看不见的格式字符（%[1]s）：请重新输入", "name contains an invisible formatting character (%[1]s); retype it"},
	pipeline.WarnLuhnInvalid: {"卡号也未通过 Luhn 校验（许多银联卡如此：仅此一项不会使该行无效）", "card number also fails the Luhn check (many UnionPay cards do: alone, that would not stop the row)"},
	pipeline.Unsaved:         {"姓名或卡号是公式，其结果从未保存：请用 Excel 或 WPS 打开文件并重新保存", "the name or card is a formula whose result was never saved; open the file in Excel or WPS and save it again"},
	pipeline.LineBreak:       {"姓名或卡号单元格内有换行；在文本文件中这通常是一个未闭合的引号（\"）吞掉了下面的行：请检查该行的引号", "the name or card cell holds a line break; in a text file this is a quote (\") that never closes and swallows the rows below: check the quotes in this row"},
	pipeline.WarnLuhn:        {"卡号未通过 Luhn 校验；仍已核验，因为许多银联卡如此", "card number fails the Luhn check; verified anyway, since many UnionPay cards do"},
	pipeline.WarnZeros:       {"卡号第 15 位之后全是 0，像是表格把数字四舍五入后的样子：请检查该列是否被设成了数字格式", "card number ends in zeros past the 15th digit, as a spreadsheet leaves a number it rounded; check that the column was not typed as a number"},

	// Reasons of outcomes.
	pipeline.DupOf:            {"与第 %[1]s 行重复", "duplicate of row %[1]s"},
	pipeline.NotYet:           {"尚未核验：再次运行同一命令即可继续", "not verified yet: run the same command again to resume"},
	pipeline.DryPending:       {"试运行：未调用接口", "dry run: no call made"},
	pipeline.GaveUp:           {"%[1]s 次调用后放弃", "gave up after %[1]s attempts"},
	pipeline.CardLimit:        {"该卡今日（北京时间）已核验 " + cardLimit + " 次：为免银行锁卡，次日再试", "the card already had its " + cardLimit + " checks today (China time): retried on a later day so that the bank does not lock it"},
	pipeline.BilledNoVerdict:  {"接口返回 error_code 0（已计费）但没有核验结果（res 1 或 2）；为免重复计费不再发送：请向聚合数据查询此次调用", "the API answered error_code 0 (billed) without a verdict (res 1 or 2); not sent again so as not to pay twice: ask Juhe about this call"},
	pipeline.Overflow:         {"本行有 %[1]s 个单元格超出表头列数，已移到核验列之后", "%[1]s cells past the header's last column were moved after the verify columns"},
	pipeline.CallCancelled:    {"调用被取消", "call cancelled"},
	pipeline.CallTimeout:      {"调用超时（%[1]s）", "timeout after %[1]s"},
	pipeline.CallHTTP:         {"接口返回 HTTP %[1]s", "the API answered HTTP %[1]s"},
	pipeline.CallRedirect:     {"接口返回 HTTP %[1]s，重定向到 %[2]s：请检查 --base-url", "the API answered HTTP %[1]s, a redirect to %[2]s: check --base-url"},
	pipeline.CallNotJSON:      {"接口的回答不是 JSON", "the answer is not JSON"},
	pipeline.CallNoCode:       {"接口的回答没有 error_code：%[1]s", "the answer has no error_code: %[1]s"},
	pipeline.CallNoVerdict:    {"接口返回 error_code 0 但没有 res 1 或 2：%[1]s", "the answer has error_code 0 but no res 1 or 2: %[1]s"},
	pipeline.CallTooLong:      {"接口的回答超过 %[1]s 字节", "the answer is longer than %[1]s bytes"},
	pipeline.CallClosed:       {"连接在回答完整之前关闭", "the connection closed before a complete answer"},
	pipeline.CallNet:          {"网络错误（系统信息：%[1]s）", "network error: %[1]s"},
	pipeline.CallUnreachable:  {"无法连接 %[1]s（系统信息：%[2]s）", "cannot reach %[1]s: %[2]s"},
	pipeline.ForeignCard:      {"接口回答中的卡号与发送的卡号不符", "the answer's card (result.bankcard) does not fit the card sent"},
	pipeline.BilledForeign:    {"接口的回答（已计费）属于另一张卡：不作为核验结果；为免重复计费不再自动发送：请向聚合数据查询此次调用", "the answer (billed) is about another card than the one sent: not taken as a verdict, and not sent again automatically so as not to pay twice: ask Juhe about this call"},
	pipeline.Reused:           {"沿用历史核验结果：%[1]s（北京时间）核验，单号 %[2]s；本次未重复付费", "reused from the history: verified on %[1]s (China time), jobid %[2]s; not paid again"},
	pipeline.NoJobID:          {"接口回答没有核验单号（已发送 jobid=1）：请向聚合数据查询此次调用的记录", "no jobid in the answer although jobid=1 was sent: ask Juhe for this call's record"},
	pipeline.HintUnreachable:  {"请检查 --base-url %[1]s：该地址无人应答（地址有误、防火墙或网络中断）", "check --base-url %[1]s: nothing answers there (a typo, a firewall, or the network is down)"},
	pipeline.HintUnknownHost:  {"请检查 --base-url %[1]s：主机名无法解析（拼写错误或没有 DNS）", "check --base-url %[1]s: its host name is not known (a typo, or no DNS)"},
	pipeline.HintUntrustedTLS: {"请检查 --base-url %[1]s：本机不信任其 TLS 证书（主机不对，或网络中的代理重新签发 HTTPS 证书）", "check --base-url %[1]s: its TLS certificate is not trusted on this machine (a wrong host, or a proxy that intercepts TLS)"},
	pipeline.HintNotTLS:       {"请检查 --base-url %[1]s：该服务器不支持 TLS（请用 http:// 或正确的端口）", "check --base-url %[1]s: the server does not speak TLS (use http:// for it, or the right port)"},
	pipeline.HintProxy:        {"请检查代理设置（HTTPS_PROXY、HTTP_PROXY）：无法连接代理", "check the proxy settings (HTTPS_PROXY, HTTP_PROXY): the proxy cannot be reached"},
	pipeline.HintRedirect:     {"请检查 --base-url %[1]s：接口直接应答，从不重定向", "check --base-url %[1]s: the API answers there directly, never with a redirect"},
	pipeline.HintOpenID:       {"请检查 JUHE_OPENID：openid 错误时加密接口无法读取任何一行（218808）；openid 可在聚合数据控制台查看", "check JUHE_OPENID: with a wrong openid the encrypted endpoint cannot read any row (218808); the openid is in the Juhe console"},
	pipeline.ConfigStreak:     {"连续 %[1]s 次调用都未能到达接口", "%[1]s calls in a row never reached the API"},
	pipeline.ConfigFirst:      {"最初 %[1]s 次调用都返回 %[2]s", "the first %[1]s calls were all answered %[2]s"},

	// Why a run stopped.
	pipeline.StopInterrupted: {"已中断", "interrupted"},
	pipeline.WaitRetry:       {"所有调用都在等待重试，下一次在 %[1]s，按 Ctrl-C 可停止", "every call waits to retry, the next at %[1]s, Ctrl-C to stop"},
	pipeline.WaitThrottle:    {"接口限流后已减速，下一次调用在 %[1]s，按 Ctrl-C 可停止", "slowed down after the API throttled, the next call at %[1]s, Ctrl-C to stop"},
	pipeline.WaitQPS:         {"按 --qps，下一次调用在 %[1]s，按 Ctrl-C 可停止", "the next call at %[1]s as --qps allows, Ctrl-C to stop"},
	pipeline.StopTime:        {"已到 --stop-at 或 --max-duration 设定的时间", "the time of --stop-at or --max-duration is reached"},
	pipeline.StopBudget:      {"已达到计费调用上限（--max-billed）", "the budget of billed calls (--max-billed) is reached"},
	pipeline.StopAPI:         {"接口返回错误码 %[1]s", "the API answered error_code %[1]s"},
	pipeline.StopConfig:      {"按当前设置无法使用接口", "the API cannot be used as configured"},

	// audit.
	pipeline.AuditAdded:       {"新增的行：检查点中没有此行", "row added: the checkpoint has no such row"},
	pipeline.AuditMissing:     {"已核验输入的第 %[1]s 行在输出中缺失", "row %[1]s of the verified input is missing from the output"},
	pipeline.AuditBadStatus:   {"核验状态“%[1]s”不是 cardverify 写出的", "status %[1]q is not one cardverify writes"},
	pipeline.AuditCardChanged: {"卡号被修改", "card changed"},
	pipeline.AuditNameChanged: {"姓名被修改", "name changed"},
	pipeline.AuditStatus:      {"核验状态为“%[1]s”，检查点记录为“%[2]s”", "status %[1]s, the checkpoint says %[2]s"},
	pipeline.AuditRes:         {"核验结果码为“%[1]s”，检查点记录为“%[2]s”", "res %[1]q, the checkpoint says %[2]q"},
	pipeline.AuditJobID:       {"核验单号为“%[1]s”，检查点记录为“%[2]s”", "jobid %[1]q, the checkpoint says %[2]q"},

	// Errors of pipeline and its implementations.
	pipeline.RowChanged:     {"该行与检查点记录的不同", "the row differs from the one the checkpoint recorded"},
	pipeline.RowChangedHint: {"输入文件在核验后被修改：请从同一文件导出，或用新的 --db 核验修改后的文件", "the input was edited since the run: export from the same file, or verify the edited file with a new --db"},
	pipeline.ColBeyond:      {"%[1]s %[2]s 超出表头（表头共 %[3]s 列：%[4]s）", "%[1]s %[2]s is past the header, which has %[3]s columns: %[4]s"},
	pipeline.ColBeyondHint:  {"请给出表头文字、列字母（C）或 1 起的序号", "give a header text, a column letter (C) or a 1-based index"},

	pipeline.ErrOpen:         {"无法打开文件", "cannot open the file"},
	pipeline.ErrEmpty:        {"文件是空的", "the file is empty"},
	pipeline.HintRightFile:   {"请确认选对了文件", "check that you chose the right file"},
	pipeline.ErrNoRows:       {"文件中没有任何行", "the file has no rows"},
	pipeline.HintRightSheet:  {"请确认选对了文件或工作表", "check that you chose the right file or sheet"},
	pipeline.ErrHeaderPast:   {"表头行 %[1]s 超出了工作表的末尾", "header row %[1]s is past the end of the sheet"},
	pipeline.HintHeaderRow:   {"请用 --header-row 给出列标题所在的行号", "give --header-row the number of the row that holds the column titles"},
	pipeline.ErrNoHeader:     {"前 %[1]s 行中没有同时含姓名列和卡号列的表头行", "no header row with a name and a card column in the first %[1]s rows"},
	pipeline.HintColumns:     {"请用 --header-row N 指定表头行，并用 --name-col 和 --card-col 给出表头文字、列字母或 1 起的序号", "give --header-row N, and --name-col and --card-col as a header text, a column letter or a 1-based index"},
	pipeline.ErrHeaderFar:    {"表头行 %[1]s 不在前 %[2]s 行之内", "header row %[1]s is not within the first %[2]s rows"},
	pipeline.HintHeaderFar:   {"请删除表头上方的行，或用 --header-row 给出列标题所在的行", "delete the rows above the header, or give --header-row the row that holds the column titles"},
	pipeline.ErrDecode:       {"无法按 %[1]s 编码解读文件", "cannot decode the file as %[1]s"},
	pipeline.HintEncoding:    {"请用 --encoding 给出文件的编码（utf-8、gbk、utf-16le 等）", "give the file's encoding with --encoding (utf-8, gbk, utf-16le, ...)"},
	pipeline.ErrEncodingName: {"未知的编码“%[1]s”", "unknown encoding %[1]q"},
	pipeline.HintEncodings:   {"请用 utf-8、gbk、gb18030、big5、utf-16le 或 utf-16be", "use utf-8, gbk, gb18030, big5, utf-16le or utf-16be"},
	pipeline.ErrOpenDB:       {"无法打开检查点", "cannot open the checkpoint"},
	pipeline.HintDB:          {"请检查 --db", "check --db"},
	pipeline.ErrNotDB:        {"不是 cardverify 的检查点", "not a cardverify checkpoint"},
	pipeline.ErrOtherInput:   {"文件的 SHA-256 是 %[1]s…，但检查点 %[2]s 是为 SHA-256 为 %[3]s… 的文件写的", "the file's SHA-256 is %[1]s…, but checkpoint %[2]s was written for a file with SHA-256 %[3]s…"},
	pipeline.HintOtherInput:  {"检查点写成后输入文件被修改了：请用原文件运行，或用新的 --db 把修改后的文件当作新任务核验", "the input changed since the checkpoint was written; run the original file, or use a new --db to verify the edited file as a new job"},
	pipeline.ErrCreateDB:     {"无法创建检查点", "cannot create the checkpoint"},
	pipeline.HintDBDir:       {"请检查 --db：它所在的目录必须存在且可写", "check --db: its directory must exist and be writable"},
	pipeline.ErrDBInUse:      {"检查点 %[1]s 正被另一个 cardverify 进程使用（pid %[2]s）", "checkpoint %[1]s is in use by another cardverify process (pid %[2]s)"},
	pipeline.HintDBInUse:     {"请等那次运行结束或停止它；要同时核验另一个文件，请给它单独的 --db", "wait for that run to end or stop it; to verify another file at the same time, give it its own --db"},
	pipeline.ErrInputChanged: {"检查点写成后输入文件被修改了", "the input changed since the checkpoint was written"},
	pipeline.HintNewDB:       {"请用新的 --db 把修改后的文件当作新任务核验", "use a new --db to verify the edited file as a new job"},
	pipeline.ErrOutExt:       {"无法写出“%[1]s”文件", "cannot write %[1]q files"},
	pipeline.HintOutExt:      {"请把输出命名为 .xlsx、.csv 或 .tsv", "name the output .xlsx, .csv or .tsv"},
	pipeline.ErrOutDir:       {"输出是一个目录", "the output is a directory"},
	pipeline.HintOutName:     {"请给 --out 一个文件名", "give --out a file name"},
	pipeline.ErrOutIsIn:      {"输出会覆盖输入文件", "the output would overwrite the input"},
	pipeline.HintOutIsIn:     {"请换一个 --out；输入文件必须保持原样", "choose another --out; the input must stay as it was"},
	pipeline.ErrMaskNoCol:    {"无法遮盖卡号：不知道卡号列", "cannot mask card numbers: the card column is unknown"},
	pipeline.HintCardCol:     {"请用 --card-col 指定", "name it with --card-col"},
	pipeline.ErrNoKey:        {"没有聚合数据的 API 密钥", "no Juhe API key"},
	pipeline.HintNoKey:       {"请设置 JUHE_KEY（或用 --key），或用 --sandbox 试用", "set JUHE_KEY (or --key), or try the tool with --sandbox"},
	pipeline.ErrNoOpenID:     {"加密接口需要账户的 openid", "the encrypted endpoint needs the account's openid"},
	pipeline.HintNoOpenID:    {"请设置 JUHE_OPENID（或用 --openid），或用 --endpoint plain", "set JUHE_OPENID (or --openid), or use --endpoint plain"},
	pipeline.ErrBaseURL:      {"基础 URL 不是不带查询串和用户名的 http(s) URL", "the base URL is not an http(s) URL without query or user"},
	pipeline.HintBaseURL:     {"请给 --base-url 形如 %[1]s 的地址", "give --base-url like %[1]s"},
	pipeline.ErrTooManyRows:  {"约 %[1]s 行：超过一个 XLSX 工作表能容纳的行数（%[2]s）", "about %[1]s rows: more than an XLSX sheet holds (%[2]s)"},
	pipeline.HintCSV:         {"请改写 CSV：--out %[1]s", "write a CSV instead: --out %[1]s"},
	pipeline.ErrNoData:       {"表头（第 %[1]s 行）下面没有数据行", "no data row under the header (row %[1]s)"},
	pipeline.HintNoData:      {"请检查文件和工作表（--sheet）是否选对，以及表头行（--header-row）", "check that this is the right file and sheet (--sheet), and the header row (--header-row)"},
	pipeline.ErrNotSameInput: {"这不是检查点核验过的文件（SHA-256 不同）", "this is not the file the checkpoint verified (its SHA-256 differs)"},
	pipeline.HintSameInput:   {"请给出写这个检查点的那次运行的输入文件：%[1]s", "give the input of the run that wrote the checkpoint: %[1]s"},

	pipeline.ErrNotKey:         {"不是 cardverify 的指纹密钥（64 位十六进制数字）", "not a cardverify fingerprint key (64 hex digits)"},
	pipeline.HintNotKey:        {"请从备份恢复密钥文件，或让 --key-file 指向正确的文件", "restore the key file from its backup, or point --key-file at the right one"},
	pipeline.ErrNotDBUntouched: {"不是 cardverify 的检查点（未做任何改动）", "not a cardverify checkpoint (nothing was changed)"},
	pipeline.HintNotDB:         {"请检查 --db：给出本任务的检查点，或为新任务给一个新路径", "check --db: give the checkpoint of this job, or a new path for a new job"},
	pipeline.ErrDBHalfMade:     {"检查点在创建时其进程停止了：里面还没有任何行和调用", "the checkpoint was being created when its process stopped: it holds no row and no call yet"},
	pipeline.HintRunAgain:      {"请再次运行同一个 `cardverify run` 命令开始任务", "run the same `cardverify run` command again to start the job"},
	pipeline.ErrDBReadOnlyWAL:  {"检查点所在目录不可写，而它的 -wal 文件中有只有可写副本才能读出的改动", "the checkpoint's directory cannot be written, and its -wal file holds changes that only a writable copy can read"},
	pipeline.HintDBCopy:        {"请把检查点连同 -wal 和 -shm 文件复制到可写目录，并把副本交给 --db", "copy the checkpoint with its -wal and -shm files to a writable directory and give that copy to --db"},
	pipeline.ErrDBOld:          {"检查点的结构版本是 %[1]s，本 cardverify 读取的是 %[2]s", "the checkpoint has schema version %[1]s, this cardverify reads %[2]s"},
	pipeline.HintDBUpgrade:     {"请运行一次同一个 `cardverify run` 命令来升级它", "run the same `cardverify run` command once to upgrade it"},
	pipeline.ErrDBNew:          {"检查点的结构版本是 %[1]s，比本 cardverify 的 %[2]s 新", "the checkpoint has schema version %[1]s, newer than this cardverify's %[2]s"},
	pipeline.HintDBNewer:       {"请用写它的那个 cardverify 版本，或更新的版本", "use the cardverify version that wrote it, or a newer one"},
	pipeline.ErrNoKeyFile:      {"%[1]s 处没有指纹密钥文件：这个检查点是用密钥 %[2]s 建的", "no fingerprint key file at %[1]s: this checkpoint was made with key %[2]s"},
	pipeline.HintKeyFile:       {"请从启动此任务的机器或账户复制密钥文件，并让 --key-file 指向它（见 README：把任务移到另一台机器）；没有它，每一行都会重新核验并再次计费", "copy the key file from the machine or account that started this job and point --key-file at it (README: moving a job to another machine); without it every row would be verified and billed again"},
	pipeline.ErrOtherKey:       {"密钥文件 %[1]s 中是指纹密钥 %[2]s，但这个检查点是用密钥 %[3]s 建的", "the key file %[1]s holds fingerprint key %[2]s, but this checkpoint was made with key %[3]s"},
	pipeline.HintOtherKey:      {"请让 --key-file 指向启动此任务时用的密钥文件；换了密钥，每一行都会重新核验并再次计费", "point --key-file at the key file this job was started with; with another key every row would be verified and billed again"},

	pipeline.ErrNotXLSX:        {"文件不是 XLSX 工作簿", "the file is not an XLSX workbook"},
	pipeline.HintSaveXLSX:      {"请用 Excel、WPS 或 LibreOffice 打开，另存为 .xlsx（Excel 工作簿）", "open it in Excel, WPS or LibreOffice and save it as .xlsx (Excel Workbook)"},
	pipeline.ErrOldXLS:         {"文件是旧版 Excel 工作簿（.xls）或设有密码", "the file is an old Excel workbook (.xls) or a password-protected one"},
	pipeline.HintOldXLS:        {"请去掉密码，或用 Excel、WPS 或 LibreOffice 打开并另存为 .xlsx（Excel 工作簿）", "remove the password, or open it in Excel, WPS or LibreOffice and save it as .xlsx (Excel Workbook)"},
	pipeline.ErrDamaged:        {"工作簿已损坏（详情：%[1]s）", "the workbook is damaged: %[1]s"},
	pipeline.HintResave:        {"请用 Excel、WPS 或 LibreOffice 打开并重新另存为 .xlsx", "open it in Excel, WPS or LibreOffice and save it again as .xlsx"},
	pipeline.ErrNoVisibleSheet: {"没有可见的工作表；工作表有 %[1]s", "no visible sheet; the sheets are %[1]s"},
	pipeline.ErrNoSheet:        {"没有工作表“%[1]s”；工作表有 %[2]s", "no sheet %[1]q; the sheets are %[2]s"},
	pipeline.HintSheet:         {"请给 --sheet 一个可见工作表的名称或 1 起的序号", "give --sheet a sheet name or a 1-based index among the visible sheets"},
	pipeline.ErrZipBomb:        {"%[1]s 从 %[3]s KiB 解压为 %[2]s MiB：文件像是压缩炸弹", "%[1]s inflates to %[2]s MiB from %[3]s KiB: the file looks like a zip bomb"},
	pipeline.HintZipBomb:       {"请查明文件来源；用 Excel、WPS 或 LibreOffice 重新保存名单", "check where the file came from; save the list again from Excel, WPS or LibreOffice"},
	pipeline.ErrLongCell:       {"有单元格超过 %[1]s 个字符，超出表格单元格的容量", "a cell has more than %[1]s characters, more than a spreadsheet cell can hold"},
	pipeline.ErrLongCellAt:     {"单元格 %[1]s 超过 %[2]s 个字符，超出表格单元格的容量", "cell %[1]s has more than %[2]s characters, more than a spreadsheet cell can hold"},
	pipeline.HintLongCell:      {"请确认这是客户名单；删除过大的单元格", "check that this is the customer list; delete the oversized cell"},
	pipeline.ErrMergedCols:     {"工作表的合并区域覆盖的列太多", "the sheet's merged ranges cover too many columns"},
	pipeline.HintUnmerge:       {"请取消合并单元格（全选，关闭“合并后居中”）后重新保存", "unmerge the cells (select all, Merge & Center off) and save again"},
	pipeline.ErrMerges:         {"工作表有超过 %[1]s 个合并区域", "the sheet has more than %[1]s merged ranges"},
	pipeline.ErrWideXLSX:       {"有单元格在 %[1]s 列；cardverify 最多读取 %[2]s 列", "a cell is in column %[1]s; cardverify reads at most %[2]s columns"},
	pipeline.HintWideXLSX:      {"请删除数据右侧的列，或把数据复制到新的工作表", "delete the columns past the data, or copy the data to a new sheet"},
	pipeline.ErrFormat:         {"无法读取“%[1]s”文件", "cannot read %[1]q files"},
	pipeline.ErrFormatXLS:      {"无法读取旧版 Excel 格式（.xls）", "cannot read the old Excel format (.xls)"},
	pipeline.ErrFormatODS:      {"无法读取 OpenDocument 表格（.ods）", "cannot read OpenDocument spreadsheets (.ods)"},
	pipeline.ErrFormatNumbers:  {"无法读取 Apple Numbers 文件", "cannot read Apple Numbers files"},
	pipeline.ErrFormatNoExt:    {"文件没有扩展名，无法判断格式", "cannot tell the format of a file without an extension"},
	pipeline.HintSaveAs:        {"请用 Excel、WPS 或 LibreOffice 打开，另存为 .xlsx（Excel 工作簿）或 .csv", "open it in Excel, WPS or LibreOffice and save it as .xlsx (Excel Workbook), or as .csv"},
	pipeline.ErrBOM8:           {"文件以 UTF-8 字节顺序标记开头，但其后的文字不是 UTF-8（可能是 GBK：中文 Windows 上的 Excel 就这样保存 CSV）", "the file starts with a UTF-8 byte order mark, but the text after it is not UTF-8 (it may be GBK, as Excel on Chinese Windows saves CSV)"},
	pipeline.HintBOM8:          {"请给出文件的编码：--encoding gbk（标记随后会被跳过）", "give the file's encoding: --encoding gbk (the mark is then skipped)"},
	pipeline.ErrBOM16:          {"文件以 UTF-16 字节顺序标记开头，但其后的文字不是 UTF-16", "the file starts with a UTF-16 byte order mark, but the text after it is not UTF-16"},
	pipeline.HintBOM16:         {"请给出文件的编码：--encoding gbk 或 --encoding utf-8（标记随后会被跳过）", "give the file's encoding: --encoding gbk or --encoding utf-8 (the mark is then skipped)"},
	pipeline.ErrZipNotText:     {"文件是 zip 压缩包（可能是 .xlsx 工作簿），不是文本", "the file is a zip archive (perhaps an .xlsx workbook), not text"},
	pipeline.ErrXLSNotText:     {"文件是旧版 Excel 工作簿（.xls），不是文本", "the file is an old Excel workbook (.xls), not text"},
	pipeline.ErrBinary:         {"文件是二进制的，不是文本", "the file is binary, not text"},
	pipeline.HintNotText:       {"请用 Excel、WPS 或 LibreOffice 打开，另存为 .xlsx 或 .csv，或给它正确的扩展名", "open it in Excel, WPS or LibreOffice and save it as .xlsx or .csv, or give it its right extension"},
	pipeline.ErrLongRecord:     {"该记录超过 %[1]s MiB", "the record is longer than %[1]s MiB"},
	pipeline.HintQuotes:        {"请确认这是客户名单，且引号成对", "check that this is the customer list, and that its quotes are balanced"},
	pipeline.ErrRecord:         {"无法读取该记录", "cannot read the record"},
	pipeline.HintRecord:        {"请检查文件的编码（--encoding）和引号", "check the file's encoding (--encoding) and quotes"},
	pipeline.ErrWideRecord:     {"该记录有 %[1]s 个字段；cardverify 最多读取 %[2]s 个", "the record has %[1]s fields; cardverify reads at most %[2]s"},
	pipeline.HintWideRecord:    {"请删除多余的列，或检查分隔符", "delete the extra columns, or check the delimiter"},
	pipeline.ErrLongColumn:     {"%[1]s 列超过 %[2]s 个字符，超出表格单元格的容量", "column %[1]s has more than %[2]s characters, more than a spreadsheet cell can hold"},
	pipeline.ColSeveralName:    {"有几列看起来都像姓名列", "several columns look like the name column"},
	pipeline.ColSeveralCard:    {"有几列看起来都像卡号列", "several columns look like the card column"},
	pipeline.ColNoName:         {"没有作为姓名列的“%[1]s”列", "no column %[1]q for the name"},
	pipeline.ColNoCard:         {"没有作为卡号列的“%[1]s”列", "no column %[1]q for the card"},
	pipeline.ColNoNameCol:      {"没有姓名列", "no name column"},
	pipeline.ColNoCardCol:      {"没有卡号列", "no card column"},
	pipeline.ColSame:           {"姓名列和卡号列是同一列", "the name and card columns are the same column"},
	pipeline.ColHeaders:        {"找到的表头：%[1]s", "headers found: %[1]s"},
	pipeline.HintColFlags:      {"请用 %[1]s 给出表头文字、列字母（C）或 1 起的序号；如果这一行不是表头，请用 --header-row N", "give %[1]s as a header text, a column letter (C) or a 1-based index, or --header-row N if this is not the header row"},
	pipeline.ErrEndpoint:       {"未知的接口“%[1]s”", "unknown endpoint %[1]q"},
	pipeline.HintEndpoint:      {"请用 --endpoint plain 或 --endpoint encrypted", "use --endpoint plain or --endpoint encrypted"},
	pipeline.ErrTimeout:        {"超时时间为负数：%[1]s", "negative timeout %[1]s"},
	pipeline.HintTimeout:       {"请给 --timeout 一个正的时长，例如 10s", "give --timeout a positive duration such as 10s"},
	pipeline.ErrKeyDamaged:     {"检查点中的指纹密钥已损坏", "the checkpoint's fingerprint key is damaged"},
	pipeline.HintUseNewDB:      {"请用新的 --db", "use a new --db"},
	pipeline.ErrKeyMove:        {"这个检查点由较旧的 cardverify 建立，指纹密钥（%[1]s）存在检查点内；本版本会把它移到密钥文件，但 %[2]s 中已有另一个密钥（%[3]s）", "the checkpoint was made by an older cardverify that kept its fingerprint key (%[1]s) inside; this cardverify moves it to the key file, but %[2]s already holds another key (%[3]s)"},
	pipeline.HintKeyMove:       {"请给 --key-file 一个还没有密钥文件的路径（例如放在其他密钥旁边，而不是检查点旁边）：密钥会移到那里；此后这个任务一直用同一个 --key-file", "give --key-file a path where no key file is yet (for example beside your other keys, not beside the checkpoint): the key is moved there; use the same --key-file for this job from then on"},
	pipeline.ErrNoKeyID:        {"检查点中没有指纹密钥的标识", "the checkpoint has no fingerprint key ID"},
	pipeline.HintNoKeyID:       {"它不是 cardverify 写的：请检查 --db", "it was not written by cardverify; check --db"},
	// The end of a run.
	RunRows:         {"%[1]s 行：一致 %[2]s，不一致 %[3]s，输入无效 %[4]s，被拒绝 %[5]s，次日重试 %[6]s，失败 %[7]s，未完成 %[8]s", "%[1]s rows: %[2]s match, %[3]s mismatch, %[4]s invalid, %[5]s rejected, %[6]s deferred, %[7]s failed, %[8]s pending"},
	RunNothing:      {"本次运行：没有需要发送的行，所有行已有最终结果；输出用时 %[1]s", "this run: nothing to send, every row was final already; output written in %[1]s"},
	RunThis:         {"本次运行：调用 %[1]s 次，计费 %[2]s 次，可能计费 %[5]s 次，此前已完成 %[3]s 行，用时 %[4]s", "this run: %[1]s calls, %[2]s billed, %[5]s possibly billed, %[3]s rows already done before, in %[4]s"},
	HistNegative:    {"--purge-older-than 不能为负数", "--purge-older-than must not be negative"},
	HistReuseNeg:    {"--reuse-within 和 --price 不能为负数", "--reuse-within and --price must not be negative"},
	HistSandbox:     {"--reuse-within 和 --history 只用于真实运行：模拟运行（--sandbox）既不沿用也不记录真实的核验结果", "--reuse-within and --history are for real runs: a sandbox run (--sandbox) neither reuses nor records real verdicts"},
	HistNone:        {"还没有历史记录：真实的 `cardverify run` 会把核验结果记在这里", "no history yet: a real `cardverify run` records its verdicts here"},
	HistImported:    {"从 %[2]s 导入了 %[1]s 条新的核验结果", "imported %[1]s new verdicts from %[2]s"},
	HistPurged:      {"删除了 %[1]s 条早于 %[2]s 的核验结果", "purged %[1]s verdicts verified before %[2]s"},
	HistPath:        {"历史记录  %[1]s", "history     %[1]s"},
	HistVerdicts:    {"核验结果  %[1]s 条（一致 %[2]s，不一致 %[3]s）", "verdicts    %[1]s (%[2]s match, %[3]s mismatch)"},
	HistSpan:        {"最早      %[1]s\n最新      %[2]s", "oldest      %[1]s\nnewest      %[2]s"},
	HistImportedEP:  {"（导入）", "(imported)"},
	RunReused:       {"本次运行：%[1]s 行沿用历史核验结果（未调用；最早的核验于 %[2]s）", "this run: %[1]s rows reused from the history (no call; the oldest verified on %[2]s)"},
	RunCost:         {"按每次 ¥%[1]s：本次运行的计费调用共 ¥%[2]s", "at ¥%[1]s a call: this run's billed calls cost ¥%[2]s"},
	ReuseSaved:      {"沿用历史结果节省 ¥%[1]s", "reuse saved ¥%[1]s"},
	DryToPay:        {"最多需付费调用 %[1]s 次（每个未沿用历史结果的不同有效姓名与卡号组合一次）", "at most %[1]s billed calls to pay for (one per unique valid name and card pair not reused)"},
	DryReusable:     {"%[1]s 行可沿用历史核验结果（在 --reuse-within 之内核验，最早的于 %[2]s）：不调用", "%[1]s reusable from the history (verified within --reuse-within, the oldest on %[2]s): no call"},
	DryCost:         {"最多 ¥%[1]s（每次 ¥%[2]s）", "at most ¥%[1]s at ¥%[2]s a call"},
	ReuseSaves:      {"沿用历史结果可节省 ¥%[1]s", "reuse saves ¥%[1]s"},
	RunJob:          {"整个任务：调用 %[1]s 次，计费 %[2]s 次，可能计费 %[3]s 次", "whole job: %[1]s calls, %[2]s billed, %[3]s possibly billed"},
	RunNoVerdict:    {"%[1]s 行已计费但没有核验结果：不会再次发送，请向聚合数据查询", "%[1]s failed rows were billed without a verdict: never sent again, ask Juhe about them"},
	RunPaused:       {"接口要求暂停（Retry-After）至 %[1]s，按 Ctrl-C 可停止", "paused by the API (Retry-After) until %[1]s, Ctrl-C to stop"},
	ErrConfig:       {"按当前设置无法使用接口：%[1]s", "the API cannot be used as configured: %[1]s"},
	RunLost:         {"另有 %[1]s 次调用因崩溃丢失回答（可能已计费）", "%[1]s answers lost in a crash (possibly billed)"},
	RunSimulated:    {"其中模拟调用 %[1]s 次（模拟接口，不计费）", "of them %[1]s simulated (a simulated API: billed by nobody)"},
	RunOutput:       {"输出：%[1]s", "output: %[1]s"},
	RunSandbox:      {"模拟数据 SANDBOX：结果来自模拟接口，不是真实核验结果", "SANDBOX: simulated answers, not real verdicts"},
	RunStopping:     {"正在停止：等待进行中的调用结束（再按一次 Ctrl-C 立即退出）", "stopping: waiting for calls in flight (press Ctrl-C again to quit at once)"},
	RunResume:       {"%[1]s：再次运行同一命令即可继续", "%[1]s: run the same command to resume"},
	RunLeft:         {"未完成 %[1]s 行，失败 %[2]s 行，次日重试 %[3]s 行：再次运行同一命令即可继续（失败的行需加 --retry-failed；次日重试的行在以后的日期自动重试）", "%[1]s rows pending, %[2]s failed, %[3]s deferred: run the same command to resume (with --retry-failed for failed rows; deferred rows are retried on a later day)"},
	RunBudget:       {"已达到计费调用上限：本任务已计费及可能计费 %[1]s 次，--max-billed 为 %[2]s；要继续请调高 --max-billed 后再次运行", "budget of billed calls reached: this job has %[1]s billed and possibly billed calls and --max-billed is %[2]s; raise --max-billed and run again to go on"},
	RunNoOutput:     {"已中断：输出 %[1]s 没有写入（检查点保存了全部结果）：再次运行同一命令即可继续并写出输出，或运行 cardverify export %[2]s --db %[3]s --out %[1]s", "interrupted: the output %[1]s was not written (the checkpoint keeps every result): run the same command to resume and write it, or run cardverify export %[2]s --db %[3]s --out %[1]s"},
	RunStoppedEarly: {"已中断，尚未发送任何调用：再次运行同一命令即可开始", "interrupted before any call: run the same command to start"},
	RunAbandoned:    {"已立即停止；进行中的调用被放弃（status 把它们计为丢失的回答）：再次运行同一命令即可继续", "stopped at once; the calls in flight were abandoned (status counts them as lost answers): run the same command to resume"},
	Warning:         {"警告：%[1]s", "warning: %[1]s"},
	TempRemoved:     {"已删除 %[2]s 旁边 %[1]s 个临时输出文件（由写入时被终止的进程留下）", "removed %[1]s temporary output file(s) left beside %[2]s by a process killed while writing it"},
	WarnFlagSecret:  {"%[1]s 在进程列表（ps）中对本机所有用户可见：请改在环境变量 %[2]s 中设置", "%[1]s is visible to every user of this machine in the process list (ps); set %[2]s in the environment instead"},
	WarnPlainHTTP:   {"--base-url %[1]s 是明文 HTTP，--endpoint plain 会把姓名、卡号和密钥不加密地在网络上传送：请用 --endpoint encrypted（姓名和卡号 AES 加密，需要 JUHE_OPENID）", "--base-url %[1]s is plain HTTP and --endpoint plain sends names, card numbers and the key unencrypted across the network; use --endpoint encrypted (names and cards AES-encrypted, needs JUHE_OPENID)"},
	SandboxStart:    {"模拟数据 SANDBOX：结果来自内置模拟接口，不是真实核验结果", "SANDBOX: answers come from the built-in simulated API; they are not real verdicts"},

	// The dry run.
	DryDid:      {"试运行：读取并校验了 %[1]s（%[2]s）：数据 %[3]s 行，有效 %[4]s 行，输入无效 %[5]s 行，重复 %[6]s 行", "dry run: read and validated %[1]s (%[2]s): %[3]s data rows, %[4]s valid, %[5]s invalid, %[6]s duplicates"},
	DryEncGiven: {"编码 %[1]s，由 --encoding 指定", "encoding %[1]s, given with --encoding"},
	DryEncoding: {"推测编码 %[1]s", "guessed encoding %[1]s"},
	DryEncXLSX:  {"XLSX 工作簿", "an XLSX workbook"},
	DryMost:     {"最多计费 %[1]s 次（每个不同的有效姓名与卡号组合一次）", "at most %[1]s billed calls (one per unique valid name and card pair)"},
	DryNoCall:   {"试运行：未调用接口，未计费", "dry run: no call made, nothing billed"},
	DryOutput:   {"试运行输出：%[1]s", "dry-run output: %[1]s"},

	// status.
	StatusDB:       {"检查点    %[1]s", "checkpoint  %[1]s"},
	StatusKey:      {"密钥      指纹密钥 %[1]s（run、export 和 audit 需要它的密钥文件）", "key         fingerprint key %[1]s (run, export and audit need its key file)"},
	StatusInput:    {"输入文件  %[1]s（%[2]s 字节，SHA-256 %[3]s）", "input       %[1]s (%[2]s bytes, sha256 %[3]s)"},
	StatusEndpoint: {"接口      %[1]s", "endpoint    %[1]s"},
	StatusSandbox:  {"模拟数据 SANDBOX：模拟的回答", "SANDBOX: simulated answers"},
	StatusRuns:     {"运行次数  %[1]s，从 %[2]s 到 %[3]s", "runs        %[1]s, from %[2]s to %[3]s"},
	StatusRows:     {"行数      %[1]s", "rows        %[1]s"},
	StatusCalls:    {"调用      %[1]s 次，计费 %[2]s 次，可能计费 %[3]s 次", "calls       %[1]s, billed %[2]s, possibly billed %[3]s"},
	StatusUnread:   {"（其中 %[1]s 行尚未读取，计为未完成）", " (%[1]s of them not read yet, counted as pending)"},
	StatusUncount:  {"（只是已读取的行：运行在统计输入行数之前就停止了；export 会统计每一行）", " (only the rows read so far: the run stopped before the input's rows were counted; export counts every row)"},
	StatusLost:     {"另有 %[1]s 次已发送但未记录回答（崩溃所致：可能已计费，继续时会重新发送）", "%[1]s sent with no answer recorded (a crash: possibly billed, re-sent on resume)"},

	// export and audit.
	ExportStopped:   {"已中断：%[1]s 没有写入", "interrupted: %[1]s was not written"},
	ExportDone:      {"%[1]s 行（一致 %[2]s，不一致 %[3]s，未完成 %[4]s）已写入 %[5]s", "%[1]s rows (%[2]s match, %[3]s mismatch, %[4]s pending) written to %[5]s"},
	AuditRow:        {"第 %[1]s 行：%[2]s", "row %[1]s: %[2]s"},
	AuditDiffer:     {"输出与检查点不符：%[2]s 行中有 %[1]s 行不同", "the output does not match the checkpoint: %[1]s of %[2]s rows differ"},
	AuditNoCols:     {"表头中没有“%[1]s”或“%[2]s”列", "no %[1]q or %[2]q column in the header"},
	AuditNoColsHint: {"audit 读取的是 cardverify run 或 export 写出的文件", "audit reads a file written by cardverify run or export"},
	AuditOK:         {"通过：全部 %[1]s 行与检查点一致", "ok: all %[1]s rows match the checkpoint"},

	// Errors.
	ErrPrefix:      {"cardverify：%[1]s", "cardverify: %[1]s"},
	ErrRow:         {"第 %[1]s 行：%[2]s", "row %[1]s: %[2]s"},
	ErrPath:        {"%[1]s：%[2]s", "%[1]s: %[2]s"},
	ErrCause:       {"%[1]s（系统信息：%[2]s）", "%[1]s: %[2]s"},
	ErrHint:        {"%[1]s（%[2]s）", "%[1]s (%[2]s)"},
	ErrAPIUnusable: {"接口无法使用：%[1]s", "the API cannot be used: %[1]s"},
	ErrAPI:         {"接口错误 %[1]s：%[2]s", "API error %[1]s: %[2]s"},
	UsageFlags:     {"命令行参数有误（系统信息：%[1]s）", "%[1]s"},
	UsageArgs:      {"%[1]s 需要一个 %[2]s 文件，给了 %[3]s 个参数", "%[1]s takes one %[2]s file, got %[3]s arguments"},
	UsageNoArgs:    {"%[1]s 不接受参数，给了 %[2]s 个", "%[1]s takes no arguments, got %[2]s"},
	SandboxServe:   {"模拟的聚合数据接口在 %[1]s（接受任何密钥；--endpoint encrypted 的 openid 为 %[2]s）", "simulated Juhe API on %[1]s (any key; openid %[2]s for --endpoint encrypted)"},
	SandboxTry:     {"试试：JUHE_KEY=test JUHE_OPENID=%[1]s cardverify run LIST --base-url %[2]s", "try: JUHE_KEY=test JUHE_OPENID=%[1]s cardverify run LIST --base-url %[2]s"},
	UsageCmd:       {"未知的命令“%[1]s”", "unknown command %[1]q"},
	UsageNone:      {"没有给出命令", "no command given"},
	UsageOneOf:     {"--%[1]s 只能是 %[2]s 之一，不能是“%[3]s”", "--%[1]s must be one of %[2]s, not %[3]q"},
	UsageNums:      {"--qps 必须为有限正数，--timeout 必须为正数，--max-attempts 至少为 1，--workers、--max-billed、--max-duration 和 --price 不能为负数", "--qps must be a finite positive number, --timeout positive, --max-attempts at least 1, --workers, --max-billed, --max-duration and --price not negative"},
	UsageStop:      {"--stop-at 需要北京时间 HH:MM 格式的时刻，不能是“%[1]s”", "--stop-at wants a time of day in China time as HH:MM, not %[1]q"},
	UsageKey:       {"没有 API 密钥：要真实核验请设置 JUHE_KEY（或用 --key），或加 --sandbox 免费试用模拟接口", "no API key: set JUHE_KEY (or pass --key) to verify for real, or add --sandbox to try the simulated API at no cost"},
	UsageOpen:      {"加密接口需要 openid：请设置 JUHE_OPENID（或用 --openid）", "the encrypted endpoint needs your openid: set JUHE_OPENID (or pass --openid)"},
	UsageLine:      {"用法：%[1]s", "usage: %[1]s"},
	ErrGeneric:     {"%[1]s", "%[1]s"},

	// serve.
	ServeURL:      {"cardverify 控制台：%[1]s （任务保存在 %[2]s；按 Ctrl-C 停止）", "cardverify console: %[1]s  (jobs in %[2]s; Ctrl-C to stop)"},
	ServeStopping: {"正在停止：运行中的任务会在进行中的调用完成后停下", "stopping: the running job stops after its calls in flight"},
	ServePassword: {"%[1]s 不是本机回环地址，其他电脑也能访问，因此需要密码：把密码放在一个环境变量里并用 --password-env 指明；或改用 --addr 127.0.0.1:8080", "%[1]s is not a loopback address: other machines could reach it, so it needs a password (put one in an environment variable and name it with --password-env), or use --addr 127.0.0.1:8080"},
	ServeEmptyPw:  {"--password-env %[1]s：这个环境变量是空的；请把控制台的密码放进去", "--password-env %[1]s: that environment variable is empty; set it to the console's password"},
	ServeNums:     {"--max-upload 至少为 1，--price 不能为负数", "--max-upload must be at least 1 and --price not negative"},
	ServeNoData:   {"没有给出 --data 目录，也找不到用户配置目录（系统信息：%[1]s）", "no --data directory and no user config directory: %[1]s"},
}

// apiMeaning is every error_code of the vendor's document: zh is the
// vendor's own text (银行卡二元素检测, 2025-02-17), en a translation.
var apiMeaning = map[int]entry{
	0:      {"成功", "success"},
	218801: {"数据源超时", "the data source timed out"},
	218804: {"银行卡号不合法 同一银行卡请求过于频繁", "the card number is not valid, or the same card was checked too often"},
	218805: {"姓名不合法", "the name is not valid"},
	218806: {"认证失败", "verification failed"},
	218808: {"参数错误", "wrong parameters"},
	218866: {"认证失败,该卡当日连续多次认证不通过被限制校验,次日恢复", "verification failed: the card failed several checks in a row today and is blocked until tomorrow"},
	10001:  {"错误的请求KEY", "wrong API key"},
	10002:  {"该KEY无请求权限", "this key may not call this API"},
	10003:  {"KEY过期", "the key has expired"},
	10004:  {"错误的OPENID", "wrong openid"},
	10005:  {"应用未审核超时，请提交认证", "the application was not approved in time: submit the verification"},
	10007:  {"未知的请求源", "unknown request source"},
	10008:  {"被禁止的IP", "banned IP address"},
	10009:  {"被禁止的KEY", "banned key"},
	10011:  {"当前IP请求超过限制", "too many requests from this IP address"},
	10012:  {"请求超过次数限制", "the request quota is used up"},
	10013:  {"测试KEY超过请求限制", "the test key's quota is used up"},
	10014:  {"系统内部异常(调用充值类业务时，请务必联系客服或通过订单查询接口检测订单，避免造成损失)", "internal error of the API"},
	10020:  {"接口维护", "the API is under maintenance"},
	10021:  {"接口停用", "the API is discontinued"},
}

// apiHint says what to do about each fatal code.
var apiHint = map[int]entry{
	10001: {"请检查 JUHE_KEY：接口不认识这个密钥", "check JUHE_KEY: the API does not know this key"},
	10002: {"此密钥无权调用银行卡二元素接口：请在聚合数据控制台为它开通该接口，或检查 JUHE_KEY", "this key may not call the bank card two-element API: enable the API for it in the Juhe console, or check JUHE_KEY"},
	10003: {"密钥已过期：请在聚合数据控制台续期并更新 JUHE_KEY", "the key has expired: renew it in the Juhe console and update JUHE_KEY"},
	10004: {"请检查 JUHE_OPENID（聚合数据账户的 openid，--endpoint encrypted 需要）", "check JUHE_OPENID (the openid of the Juhe account, needed by --endpoint encrypted)"},
	10005: {"应用未及时通过审核：请在聚合数据控制台提交认证", "the application was not approved in time: submit the verification in the Juhe console"},
	10007: {"接口不认识请求的来源：请在聚合数据控制台检查账户设置", "the API does not recognise where the request comes from: check the account's settings in the Juhe console"},
	10008: {"本机 IP 被禁止：请在聚合数据控制台检查 IP 白名单", "this machine's IP address is banned: check the IP whitelist in the Juhe console"},
	10009: {"密钥被禁止：请联系聚合数据客服", "the key is banned: contact Juhe support"},
	10012: {"密钥的请求次数已用完：请在聚合数据控制台购买次数，然后再次运行同一命令继续", "the key's request quota is used up: buy more calls in the Juhe console, then run the same command to resume"},
	10013: {"测试密钥的次数已用完：请在 JUHE_KEY 中使用正式密钥", "the test key's quota is used up: use a production key in JUHE_KEY"},
	10021: {"此密钥的接口已停用：请联系聚合数据客服", "the API is discontinued for this key: contact Juhe support"},
}
