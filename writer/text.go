package writer

import (
	"fmt"
	"strconv"

	"golang.org/x/text/width"

	"github.com/cardverify/cardverify/pipeline"
)

// lang holds every text the writer adds to an output, in one language.
type lang struct {
	code        string // "zh" or "en", as pipeline.Status.Label takes it
	headers     [6]string
	sandboxMark string // starts every reason cell of a sandbox output
	pending     string // the reason of a pending row
	summary     string // the Summary sheet's name
	dupFmt      string // the reason of a duplicate row
	overflowFmt string // the reason of a row wider than the header
	// The Summary sheet.
	title, banner                      string
	fields                             summaryFields
	statusHead, codeHead               [3]string
	statusMeaning                      [pipeline.NumStatuses]string
	duplicates, noCodes, yes, no, none string
	// reused labels the rows whose verdict came from the history;
	// reusedSince says from when (a time).
	reused, reusedSince string
}

type summaryFields struct {
	version, input, sha, sheet, rows, statuses, billed, calls,
	endpoint, qps, start, end, sandbox string
}

var langs = map[string]*lang{
	"zh": {
		code:        "zh",
		headers:     [6]string{"核验状态", "核验结果码", "核验单号", "错误码", "说明", "核验时间"},
		sandboxMark: "[模拟数据 SANDBOX]",
		pending:     "尚未核验：再次运行同一命令即可继续",
		summary:     "汇总",
		dupFmt:      "与第 %d 行重复",
		overflowFmt: "本行有 %d 个单元格超出表头列数，已移到核验列之后",
		title:       "cardverify 银行卡二元素核验汇总",
		banner:      "模拟数据 SANDBOX — not real verdicts：本文件的核验结果由模拟接口生成，不是真实核验结果",
		fields: summaryFields{
			version: "工具版本", input: "输入文件", sha: "输入文件 SHA-256", sheet: "工作表",
			rows: "数据行数", statuses: "各状态行数", billed: "计费调用次数", calls: "调用总次数",
			endpoint: "接口", qps: "每秒请求数 (QPS)", start: "开始时间", end: "结束时间",
			sandbox: "模拟数据",
		},
		statusHead: [3]string{"核验状态", "行数", "含义"},
		codeHead:   [3]string{"错误码", "次数", "接口说明"},
		statusMeaning: [pipeline.NumStatuses]string{
			pipeline.Pending:  "尚未核验：再次运行同一命令即可继续",
			pipeline.Match:    "姓名与卡号一致（error_code 0，res 1，计费）",
			pipeline.Mismatch: "姓名与卡号不一致（error_code 0，res 2，计费）",
			pipeline.Invalid:  "输入无效，未调用接口，未计费",
			pipeline.Rejected: "接口拒绝此行（218804、218805、218806、218808），不重试",
			pipeline.Deferred: "该卡当日被限制校验（218866），或当日已核验 3 次，次日重试",
			pipeline.Failed:   "多次重试后仍失败（超时、接口异常等），可用 --retry-failed 重试",
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
		pending:     "not verified yet: run the same command again to resume",
		summary:     "Summary",
		dupFmt:      "duplicate of row %d",
		overflowFmt: "%d cells past the header's last column were moved after the verify columns",
		title:       "cardverify bank card two-element verification summary",
		banner:      "模拟数据 SANDBOX — not real verdicts: the answers in this file come from a simulated API",
		fields: summaryFields{
			version: "Tool version", input: "Input file", sha: "Input SHA-256", sheet: "Sheet",
			rows: "Data rows", statuses: "Rows per status", billed: "Billed calls", calls: "Total calls",
			endpoint: "Endpoint", qps: "Requests per second (QPS)", start: "Started", end: "Ended",
			sandbox: "Sandbox",
		},
		statusHead: [3]string{"Status", "Rows", "Meaning"},
		codeHead:   [3]string{"Error code", "Count", "Vendor's meaning"},
		statusMeaning: [pipeline.NumStatuses]string{
			pipeline.Pending:  "not verified yet: run the same command again to resume",
			pipeline.Match:    "name and card match (error_code 0, res 1; billed)",
			pipeline.Mismatch: "name and card do not match (error_code 0, res 2; billed)",
			pipeline.Invalid:  "invalid input: no call made, nothing billed",
			pipeline.Rejected: "the API refused the row (218804, 218805, 218806, 218808); not retried",
			pipeline.Deferred: "the card is blocked for the day (218866), or already had its 3 checks today; retried on a later day",
			pipeline.Failed:   "failed after every retry (timeouts, API faults); rerun with --retry-failed",
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

func (l *lang) duplicate(row int) string { return fmt.Sprintf(l.dupFmt, row) }
func (l *lang) overflow(n int) string    { return fmt.Sprintf(l.overflowFmt, n) }

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
