package reader

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cardverify/cardverify/pipeline"
	"github.com/cardverify/cardverify/pipeline/msg"
)

// TestColumnBeyondHeader checks that a column letter or index past the
// header's last column is refused, listing the headers, instead of making
// every row "card number is empty".
func TestColumnBeyondHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "five.csv")
	if err := os.WriteFile(path, []byte("序号,姓名,银行卡号,手机,备注\n1,张三,6222021234567890128,13800000000,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	headers := `A="序号", B="姓名", C="银行卡号", D="手机", E="备注"`
	tests := []struct {
		opt    Options
		zh, en string
	}{
		{Options{CardCol: "Z"}, "--card-col Z 超出表头（表头共 5 列：" + headers + "）",
			"--card-col Z is past the header, which has 5 columns: " + headers},
		{Options{CardCol: "6"}, "--card-col 6 超出表头（表头共 5 列：" + headers + "）",
			"--card-col 6 is past the header, which has 5 columns: " + headers},
		{Options{NameCol: "F", HeaderRow: 1}, "--name-col F 超出表头（表头共 5 列：" + headers + "）",
			"--name-col F is past the header, which has 5 columns: " + headers},
	}
	for _, tc := range tests {
		r, err := Open(path, tc.opt)
		if err == nil {
			r.Close()
			t.Errorf("Open(%+v): no error", tc.opt)
			continue
		}
		var in *pipeline.InputError
		if !errors.As(err, &in) {
			t.Fatalf("Open(%+v) = %v, want an *InputError", tc.opt, err)
		}
		if got := msg.Text("zh", in.Msg); got != tc.zh {
			t.Errorf("zh = %q\nwant %q", got, tc.zh)
		}
		if got := msg.Text("en", in.Msg); got != tc.en {
			t.Errorf("en = %q\nwant %q", got, tc.en)
		}
	}
	// The last column, by letter and by index, is fine.
	for _, col := range []string{"C", "3"} {
		r, err := Open(path, Options{CardCol: col})
		if err != nil {
			t.Errorf("--card-col %s: %v", col, err)
			continue
		}
		r.Close()
	}
}
