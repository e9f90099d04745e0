package writer

import (
	"fmt"
	"strconv"

	"golang.org/x/text/width"

	"github.com/cardverify/cardverify/pipeline"
)

// cardLimit is the card daily limit as the legend quotes it: the
// pipeline's rule, not a number of the writer's.
var cardLimit = strconv.Itoa(pipeline.CardDailyLimit)

// lang holds every text the writer adds to an output, in one language.
type lang struct {
	code        string // "zh" or "en", as pipeline.Status.Label takes it
	headers     [6]string
	sandboxMark string // starts every reason cell of a sandbox output
	summary     string // the Summary sheet's name
	// The Summary sheet.
	title, banner                      string
	fields                             summaryFields
	statusHead, codeHead               [3]string
	statusMeaning                      [pipeline.NumStatuses]string
	duplicates, noCodes, yes, no, none string
	// Sources: where the verdicts came from.
	real, simulated, mixedFmt, noSource string
	runsTitle, daysTitle, invalidTitle  string
	runHead                             [8]string
	dayHead                             [4]string
	invalidHead                         [2]string
	total                               string
	commandFmt                          string // the label of run N's command line
	stops                               map[string]string
	noStop                              string // a run that did not record its end
	signTitle                           string
	sign                                [2]string // prepared by, reviewed by
	signDate                            string
	// reused labels the rows whose verdict came from the history;
	// reusedSince says from when (a time).
	reused, reusedSince string
}

type summaryFields struct {
	version, input, sha, sheet, output, rows, source, billed, possibly, calls,
	endpoint, url, keyID, operator, runs, start, end,
	price, cost, costMax, saved, noJobID, simulated string
}

var langs = map[string]*lang{
	"zh": {
		code:        "zh",
		headers:     [6]string{"核验状态", "核验结果码", "核验单号", "错误码", "说明", "核验时间"},
		sandboxMark: "[模拟数据 SANDBOX]",
		summary:     "汇总",
		title:       "cardverify 银行卡二元素核验汇总",
		banner:      "模拟数据 SANDBOX：本文件的核验结果由模拟接口生成，不是真实核验结果",
		fields: summaryFields{
			version: "工具版本", input: "输入文件", sha: "输入文件 SHA-256", sheet: "工作表",
			output: "输出文件", rows: "数据行数", source: "核验结果来源",
			billed: "计费调用次数", possibly: "可能计费的调用次数（应答未完整收到）", calls: "调用总次数",
			simulated: "模拟调用次数（模拟接口，不计费）",
			endpoint:  "接口", url: "接口地址", keyID: "API 密钥标识（非密钥本身）", operator: "操作人（系统用户@主机）",
			runs: "运行次数", start: "开始时间", end: "结束时间",
			price: "单价（元/次计费调用）", cost: "费用（计费调用 × 单价，元）", costMax: "费用上限（计费 + 可能计费 × 单价，元）", saved: "沿用历史结果节省（沿用行数 × 单价，元）",
			noJobID: "无核验单号的结果行数",
		},
		real:         "真实接口",
		simulated:    "模拟接口（SANDBOX，不是真实核验结果）",
		mixedFmt:     "混合：真实接口 %d 行，模拟接口 %d 行",
		noSource:     "尚无接口应答",
		runsTitle:    "各次运行",
		daysTitle:    "每日计费调用（北京时间，与聚合数据账单核对）",
		invalidTitle: "输入无效的原因",
		runHead:      [8]string{"开始时间", "结束时间", "结束原因", "调用次数", "计费", "可能计费", "QPS 上限", "操作人"},
		dayHead:      [4]string{"日期（北京时间）", "计费调用", "可能计费", "调用次数"},
		invalidHead:  [2]string{"原因", "行数"},
		total:        "合计",
		commandFmt:   "第 %d 次运行的命令行",
		stops: map[string]string{
			"done": "已完成", "interrupted": "被中断（Ctrl-C 或停止）", "deadline": "到达设定的停止时间",
			"budget": "达到计费上限（--max-billed）", "api": "接口拒绝本次运行", "error": "出错停止",
		},
		noStop:     "未记录结束（运行中或进程中断）",
		signTitle:  "签核",
		sign:       [2]string{"编制人", "复核人"},
		signDate:   "日期",
		statusHead: [3]string{"核验状态", "行数", "含义"},
		codeHead:   [3]string{"错误码", "次数", "接口说明"},
		statusMeaning: [pipeline.NumStatuses]string{
			pipeline.Pending:  "尚未核验：再次运行同一命令即可继续",
			pipeline.Match:    "姓名与卡号一致（error_code 0，res 1，计费）",
			pipeline.Mismatch: "姓名与卡号不一致（error_code 0，res 2，计费）",
			pipeline.Invalid:  "输入无效，未调用接口，未计费",
			pipeline.Rejected: "接口拒绝此行（218804、218805、218806、218808），不重试",
			pipeline.Deferred: "该卡当日被限制校验（218866），或当日已核验 " + cardLimit + " 次，次日重试",
			pipeline.Failed:   "多次重试后仍失败（超时、接口异常等），可用 --retry-failed 重试；已计费但无结果的行不会再次发送",
		},
		duplicates:  "其中重复行（沿用首行结果，未重复调用）",
		reused:      "其中沿用历史核验结果的行（未再次调用，保留原单号与核验时间）",
		reusedSince: "最早核验于 %s",
		noCodes:     "无",
		yes:         "是",
		no:          "否",
		none:        "—",
	},
	"en": {
		code:        "en",
		headers:     [6]string{"verify_status", "verify_res", "verify_jobid", "verify_error_code", "verify_reason", "verified_at"},
		sandboxMark: "[SANDBOX]",
		summary:     "Summary",
		title:       "cardverify bank card two-element verification summary",
		banner:      "SANDBOX — not real verdicts: the answers in this file come from a simulated API",
		fields: summaryFields{
			version: "Tool version", input: "Input file", sha: "Input SHA-256", sheet: "Sheet",
			output: "Output file", rows: "Data rows", source: "Verdicts from",
			billed: "Billed calls", possibly: "Possibly billed calls (answer not received intact)", calls: "Total calls",
			simulated: "Simulated calls (a simulated API: billed by nobody)",
			endpoint:  "Endpoint", url: "API address", keyID: "API key identifier (not the key)", operator: "Run by (OS user@host)",
			runs: "Number of runs", start: "Started", end: "Ended",
			price: "Price (yuan per billed call)", cost: "Cost (billed calls × price, yuan)", costMax: "Cost at most (billed + possibly billed × price, yuan)", saved: "Saved by reuse (reused rows × price, yuan)",
			noJobID: "Verdicts without a jobid",
		},
		real:         "the real API",
		simulated:    "the simulated API (SANDBOX, not real verdicts)",
		mixedFmt:     "mixed: %d rows from the real API, %d rows from the simulated API",
		noSource:     "no API answer yet",
		runsTitle:    "Runs",
		daysTitle:    "Billed calls per day (China time, to match Juhe's bill)",
		invalidTitle: "Why rows are invalid",
		runHead:      [8]string{"Started", "Ended", "Stopped because", "Calls", "Billed", "Possibly billed", "QPS limit", "Run by"},
		dayHead:      [4]string{"Day (China time)", "Billed calls", "Possibly billed", "Calls"},
		invalidHead:  [2]string{"Reason", "Rows"},
		total:        "Total",
		commandFmt:   "Command line of run %d",
		stops: map[string]string{
			"done": "finished", "interrupted": "interrupted (Ctrl-C or Stop)", "deadline": "stop time reached",
			"budget": "billed budget reached (--max-billed)", "api": "the API refused the run", "error": "stopped by an error",
		},
		noStop:     "no end recorded (running, or the process died)",
		signTitle:  "Sign-off",
		sign:       [2]string{"Prepared by", "Reviewed by"},
		signDate:   "Date",
		statusHead: [3]string{"Status", "Rows", "Meaning"},
		codeHead:   [3]string{"Error code", "Count", "Meaning"},
		statusMeaning: [pipeline.NumStatuses]string{
			pipeline.Pending:  "not verified yet: run the same command again to resume",
			pipeline.Match:    "name and card match (error_code 0, res 1; billed)",
			pipeline.Mismatch: "name and card do not match (error_code 0, res 2; billed)",
			pipeline.Invalid:  "invalid input: no call made, nothing billed",
			pipeline.Rejected: "the API refused the row (218804, 218805, 218806, 218808); not retried",
			pipeline.Deferred: "the card is blocked for the day (218866), or already had its " + cardLimit + " checks today; retried on a later day",
			pipeline.Failed:   "failed after every retry (timeouts, API faults); rerun with --retry-failed (rows billed without a verdict are never sent again)",
		},
		duplicates:  "of which duplicates (sharing an earlier row's verdict, no call)",
		reused:      "of which reused from the history (no call; the original jobid and time kept)",
		reusedSince: "the oldest verified on %s",
		noCodes:     "none",
		yes:         "yes",
		no:          "no",
		none:        "—",
	},
}

func langFor(code string) (*lang, error) {
	if code == "" {
		code = "zh"
	}
	l, ok := langs[code]
	if !ok {
		return nil, fmt.Errorf("unknown output language %q", code)
	}
	return l, nil
}

// Headers returns the six verdict column headers in lang ("zh", the
// default when empty, or "en"), in the order they follow the input's
// columns. It returns nil for an unknown language. audit uses it to find
// the columns again.
func Headers(lang string) []string {
	l, err := langFor(lang)
	if err != nil {
		return nil
	}
	return append([]string(nil), l.headers[:]...)
}

// textWidth is the width of s in columns of a fixed-width font: East Asian
// wide characters count two.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		if r < 0x1100 {
			n++
			continue
		}
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }
