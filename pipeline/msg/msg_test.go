package msg

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/cardverify/cardverify/pipeline"
)

// TestEveryCodeHasTexts reads the codes declared in pipeline/reason.go and
// in this package, and checks that each has a zh and an en text using the
// same parameters.
func TestEveryCodeHasTexts(t *testing.T) {
	decl := regexp.MustCompile(`(\w+)\s+(?:pipeline\.)?Code = "([a-z0-9-]+)"`)
	verb := regexp.MustCompile(`%\[(\d)\][sq]`)
	n := 0
	for _, file := range []string{"../reason.go", "catalogue.go"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
			n++
			c := pipeline.Code(m[2])
			if c == pipeline.Vendor {
				continue // rendered by vendor()
			}
			e, ok := catalogue[c]
			if !ok {
				t.Errorf("%s (%s) has no entry", m[1], c)
				continue
			}
			if e.zh == "" || e.en == "" {
				t.Errorf("%s: an empty text: %q", c, e)
			}
			if a, b := verb.FindAllString(e.zh, -1), verb.FindAllString(e.en, -1); len(uniq(a)) != len(uniq(b)) {
				t.Errorf("%s: zh uses %v, en %v", c, a, b)
			}
			for _, r := range e.en {
				if unicode.Is(unicode.Han, r) {
					t.Errorf("%s: the en text has Chinese: %q", c, e.en)
					break
				}
			}
		}
	}
	if n < 100 {
		t.Errorf("found %d codes: is the declaration pattern still right?", n)
	}
}

func uniq(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[strings.TrimRight(v, "sq")] = true
	}
	return m
}

// TestText checks rendering against literal texts, and that a text that is
// not a code (a checkpoint written before codes) is kept as it is.
func TestText(t *testing.T) {
	tests := []struct {
		lang, in, want string
	}{
		{"zh", pipeline.Reason(pipeline.CardDigits, 11, 12, 19), "卡号有 11 位数字；银行卡号为 12 到 19 位"},
		{"en", pipeline.Reason(pipeline.CardDigits, 11, 12, 19), "card number has 11 digits; a bank card has 12 to 19"},
		{"", pipeline.Reason(pipeline.DupOf, 3), "与第 3 行重复"},
		{"en", pipeline.JoinReasons(pipeline.Reason(pipeline.DupOf, 3), pipeline.Reason(pipeline.WarnLuhn)),
			"duplicate of row 3; card number fails the Luhn check; verified anyway, since many UnionPay cards do"},
		{"zh", pipeline.Reason(pipeline.Vendor, 218866, "认证失败,该卡当日连续多次认证不通过被限制校验,次日恢复"), "认证失败,该卡当日连续多次认证不通过被限制校验,次日恢复"},
		{"en", pipeline.Reason(pipeline.Vendor, 218805, "姓名不合法"), "the name is not valid (Juhe: 姓名不合法)"},
		{"zh", pipeline.Reason(pipeline.Vendor, 218805, ""), "姓名不合法"},
		{"en", pipeline.Reason(pipeline.Vendor, 299999, "新错误"), "error_code 299999 (Juhe: 新错误)"},
		{"zh", pipeline.Reason(pipeline.AuditStatus, "match", "mismatch"), "核验状态为“一致”，检查点记录为“不一致”"},
		{"en", pipeline.Reason(pipeline.AuditCardChanged), "card changed"},
		{"zh", pipeline.Reason(pipeline.AuditNameChanged), "姓名被修改"},
		{"zh", "card number is empty; fill it in or delete the row", "card number is empty; fill it in or delete the row"},
		{"en", "", ""},
		// A parameter cannot forge a code.
		{"en", pipeline.Reason(pipeline.CallNet, "a\x1e\x1fcard-empty"), "network error: a  card-empty"},
	}
	for _, tc := range tests {
		if got := Text(tc.lang, tc.in); got != tc.want {
			t.Errorf("Text(%q, %q) = %q, want %q", tc.lang, tc.in, got, tc.want)
		}
	}
	for _, s := range pipeline.Statuses {
		want := map[pipeline.Status]string{pipeline.Match: "一致", pipeline.Mismatch: "不一致", pipeline.Invalid: "输入无效",
			pipeline.Rejected: "被拒绝", pipeline.Deferred: "次日重试", pipeline.Failed: "失败", pipeline.Pending: "未完成"}[s]
		if got := s.Label("zh"); got != want {
			t.Errorf("%v in zh = %q, want %q", s, got, want)
		}
	}
}
