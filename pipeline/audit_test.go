package pipeline

import (
	"context"
	"reflect"
	"strconv"
	"testing"
)

// annotated turns a verified source into the records of its annotated
// output: cells name, card, status, res, jobid. edit may change the rows
// (by index) before they are numbered.
func annotated(tb testing.TB, ck *memCheckpoint, src *sliceSource, edit func([]Record) []Record) *sliceSource {
	tb.Helper()
	var recs []Record
	res := ck.results()
	for _, rec := range src.recs[1:] {
		r, err := res.Next()
		if err != nil {
			tb.Fatal(err)
		}
		res := ""
		if r.Res != 0 {
			res = strconv.Itoa(r.Res)
		}
		rec.Cells = []Cell{{Value: rec.Name}, {Value: rec.Card}, {Value: r.Status.Label("zh")}, {Value: res}, {Value: r.JobID}}
		recs = append(recs, rec)
	}
	if edit != nil {
		recs = edit(recs)
	}
	out := &sliceSource{recs: []Record{{Row: 1, Kind: Header}}}
	for i, rec := range recs {
		rec.Row = i + 2
		out.recs = append(out.recs, rec)
	}
	return out
}

func TestAudit(t *testing.T) {
	cols := AuditColumns{Status: 2, Res: 3, JobID: 4}
	pairs := manyPairs(6)
	mask := func(recs []Record) []Record {
		for i := range recs {
			c := recs[i].Card
			recs[i].Card = c[:6] + "******" + c[12:]
			recs[i].Problems = []string{"card has characters other than digits"}
		}
		return recs
	}
	tests := []struct {
		name string
		edit func([]Record) []Record
		want []Discrepancy
	}{
		{"untouched", nil, nil},
		{"masked", mask, nil},
		{"verdict edited", func(r []Record) []Record {
			r[2].Cells[2].Value, r[2].Cells[3].Value = "不一致", "2"
			return r
		}, []Discrepancy{{4, Reason(AuditStatus, "mismatch", "match") + "\x1e" + Reason(AuditRes, "2", "1")}}},
		{"jobid edited", func(r []Record) []Record {
			r[0].Cells[4].Value = "JH123"
			return r
		}, []Discrepancy{{2, "\x1faudit-jobid\x1fJH123\x1fJ6222000000000000"}}},
		{"row removed", func(r []Record) []Record {
			return append(r[:1], r[2:]...)
		}, []Discrepancy{{3, "\x1faudit-missing\x1f3"}}},
		{"row added", func(r []Record) []Record {
			extra := r[0]
			extra.Card, extra.Cells = "6222999999999999", append([]Cell(nil), r[0].Cells...)
			return append(r[:2], append([]Record{extra}, r[2:]...)...)
		}, []Discrepancy{{4, "\x1faudit-added"}}},
		{"card edited", func(r []Record) []Record {
			r[5].Card = "6222000000009999"
			return r
		}, []Discrepancy{{7, "\x1faudit-card-changed"}}},
		{"name edited", func(r []Record) []Record {
			r[1].Name = "改名"
			return r
		}, []Discrepancy{{3, "\x1faudit-name-changed"}}},
		{"card and verdict edited", func(r []Record) []Record {
			r[2].Card = "6222000000009999"
			r[2].Cells[4].Value = ""
			return r
		}, []Discrepancy{{4, "\x1faudit-card-changed\x1e\x1faudit-jobid\x1f\x1fJ6222000000000002"}}},
		{"last rows cut", func(r []Record) []Record {
			return r[:4]
		}, []Discrepancy{
			{6, "\x1faudit-missing\x1f6"},
			{7, "\x1faudit-missing\x1f7"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ck := newMem()
			mustRun(t, rows(pairs...), ck, newAPI(), fastConfig())
			out := annotated(t, ck, rows(pairs...), tc.edit)
			got, n, err := Audit(context.Background(), out, ck.results(), ck, cols)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) || n != len(out.recs)-1 {
				t.Errorf("Audit = %v (%d rows)\nwant %v (%d rows)", got, n, tc.want, len(out.recs)-1)
			}
		})
	}
}

func TestCompatible(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"6222021234567890", "622202******7890", true},
		{"622202******7890", "622202******7890", true},
		{"6222021234567890", "6222021234567891", false},
		{"6222 0212 3456 7890", "622202******7890", true},
		{"622202123456789", "622202******7890", false},
		{"622202*****6789", "622202******789X", true},
	}
	for _, tc := range tests {
		if got := compatible(tc.a, tc.b); got != tc.want {
			t.Errorf("compatible(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}

}
