// Package gen writes seeded, realistic customer lists for cardverify's
// benchmarks: Chinese names, Luhn-valid 16- and 19-digit card numbers kept
// as text, a phone column, a customer number with leading zeros, about 1%
// duplicate rows and about 0.5% rows that fail validation.
//
// Every row is a pure function of the seed and its index, so a list is the
// same on every machine and is written in constant memory whatever its size.
package gen

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Header is the header row of every generated list. The name and card
// columns carry headers that cardverify detects by itself.
var Header = []string{"客户编号", "姓名", "银行卡号", "手机号", "开户行"}

// Options says what list to write. The zero value of Dup and Invalid takes
// the defaults (1% and 0.5%); Clean turns both off.
type Options struct {
	Rows    int     // data rows, the header not counted
	Seed    uint64  // the same seed gives the same list
	Dup     float64 // share of rows repeating an earlier row's customer (default 0.01)
	Invalid float64 // share of rows with a missing, malformed or swapped field (default 0.005)
	// Clean writes only valid, distinct rows: every row is one API call.
	Clean bool
}

func (o Options) withDefaults() Options {
	if o.Dup == 0 {
		o.Dup = 0.01
	}
	if o.Invalid == 0 {
		o.Invalid = 0.005
	}
	if o.Clean {
		o.Dup, o.Invalid = 0, 0
	}
	return o
}

// Row is one customer of a list, every field as text.
type Row struct {
	// ID is the customer's number in the list, Name and Card the pair to
	// verify, Phone and Bank filler columns such as a real list carries.
	ID, Name, Card, Phone, Bank string
}

// Fields returns the row's cells in Header's order.
func (r Row) Fields() []string { return []string{r.ID, r.Name, r.Card, r.Phone, r.Bank} }

// Write writes o's list to path as "csv" or "xlsx".
func Write(path, format string, o Options) error {
	switch format {
	case "csv":
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := WriteCSV(f, o); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		return f.Close()
	case "xlsx":
		return WriteXLSX(path, o)
	}
	return fmt.Errorf("unknown format %q: want csv or xlsx", format)
}

// WriteCSV writes o's list as UTF-8 CSV with a byte order mark, as Excel's
// "CSV UTF-8" saves it.
func WriteCSV(w io.Writer, o Options) error {
	o = o.withDefaults()
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("\ufeff")
	cw := csv.NewWriter(bw)
	if err := cw.Write(Header); err != nil {
		return err
	}
	rec := make([]string, len(Header))
	for i := range o.Rows {
		r := o.Row(i)
		rec[0], rec[1], rec[2], rec[3], rec[4] = r.ID, r.Name, r.Card, r.Phone, r.Bank
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteXLSX writes o's list as a workbook with one sheet, "客户名单", through
// excelize's StreamWriter. Every cell is a string; the customer number,
// card and phone columns also carry the Text number format ("@"), as a
// careful bank export has them.
func WriteXLSX(path string, o Options) (err error) {
	o = o.withDefaults()
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	const sheet = "客户名单"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	row := make([]any, len(Header))
	for i, h := range Header {
		row[i] = h
	}
	if err := sw.SetRow("A1", row); err != nil {
		return err
	}
	var id, card, phone excelize.Cell
	id.StyleID, card.StyleID, phone.StyleID = text, text, text
	for i := range o.Rows {
		r := o.Row(i)
		id.Value, card.Value, phone.Value = r.ID, r.Card, r.Phone
		row[0], row[1], row[2], row[3], row[4] = id, r.Name, card, phone, r.Bank
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, row); err != nil {
			return fmt.Errorf("write %s row %d: %w", path, i+2, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(filepath.Clean(path))
}

// Row returns data row i (0-based) of o's list. Most rows are base(i); a
// duplicate repeats base(j) of an earlier j, and an invalid row spoils one
// field of base(i) in one of the ways real lists do.
func (o Options) Row(i int) Row {
	o = o.withDefaults()
	g := newRNG(o.Seed, uint64(i), 1)
	switch u := g.float(); {
	case i > 0 && u < o.Dup:
		return base(o.Seed, int(g.intn(uint64(i))))
	case u < o.Dup+o.Invalid:
		return spoil(base(o.Seed, i), g)
	}
	return base(o.Seed, i)
}

// spoil makes r fail cardverify's validation.
func spoil(r Row, g *rng) Row {
	switch g.intn(6) {
	case 0: // a digit typed into the name
		r.Name += "2"
	case 1:
		r.Name = ""
	case 2: // a letter in the card number
		r.Card = r.Card[:8] + "X" + r.Card[9:]
	case 3: // a truncated card number
		r.Card = r.Card[:10]
	case 4: // a card number Excel turned into a float
		r.Card = r.Card[:1] + "." + r.Card[1:6] + "E+" + strconv.Itoa(len(r.Card)-1)
	default:
		r.Card = ""
	}
	return r
}

// base returns the customer of index i: its card number is distinct for
// every i below 10^9.
func base(seed uint64, i int) Row {
	g := newRNG(seed, uint64(i), 2)
	b := banks[g.intn(uint64(len(banks)))]
	var card string
	// An affine map of i onto the body digits, a bijection (its factor is
	// prime to 10), makes the numbers distinct yet scattered.
	if g.float() < 0.7 {
		card = luhn(b.bin + pad(uint64(i)*7_919_393+seed*1_000_003, 9))
	} else {
		card = luhn(b.bin + pad(uint64(i)*496_197_851_723+seed*1_000_003, 12))
	}
	return Row{
		ID:    pad(uint64(i)+1, 10),
		Name:  name(g),
		Card:  card,
		Phone: "1" + string("35789"[g.intn(5)]) + pad(g.intn(1e9), 9),
		Bank:  b.name + cities[g.intn(uint64(len(cities)))] + "分行",
	}
}

// pad returns the last n decimal digits of v, with leading zeros.
func pad(v uint64, n int) string {
	var b [20]byte
	for j := n - 1; j >= 0; j-- {
		b[j] = byte('0' + v%10)
		v /= 10
	}
	return string(b[:n])
}

// luhn appends the Luhn check digit to the digits.
func luhn(digits string) string {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 { // doubled: the check digit takes position 0
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return digits + string(byte('0'+(10-sum%10)%10))
}

// name returns a Chinese name: a surname (now and then a compound one) and
// one or two given characters; about one in two hundred is a minority name
// with a middle dot.
func name(g *rng) string {
	if g.float() < 0.005 {
		return minority[g.intn(uint64(len(minority)))] + "·" + minority[g.intn(uint64(len(minority)))]
	}
	var b strings.Builder
	if g.float() < 0.01 {
		b.WriteString(compound[g.intn(uint64(len(compound)))])
	} else {
		b.WriteRune(surnames[g.intn(uint64(len(surnames)))])
	}
	for range 1 + g.intn(10)/7 { // about 30% one given character
		b.WriteRune(given[g.intn(uint64(len(given)))])
	}
	return b.String()
}

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	compound = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐"}
	given    = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰玉萍红娥建华文辉力鹏宇浩然子涵欣怡梓轩雨婷晨思佳俊博天琪嘉怡一诺明轩志强海燕丹凤云龙国庆春梅秋菊冬雪晓东晓明永刚永红德华淑珍桂英秀兰")
	minority = []string{"阿依古丽", "买买提", "热依汗", "艾力", "古丽娜尔", "努尔", "阿不都", "迪丽热巴", "巴图", "其其格", "扎西", "卓玛", "次仁", "央金"}
	cities   = []string{"北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "重庆", "天津", "苏州", "长沙", "郑州", "青岛"}
	banks    = []struct{ bin, name string }{
		{"622202", "中国工商银行"}, {"621700", "中国建设银行"}, {"622848", "中国农业银行"},
		{"621661", "中国银行"}, {"622588", "招商银行"}, {"622262", "交通银行"},
		{"621799", "中国邮政储蓄银行"}, {"622908", "兴业银行"}, {"621483", "招商银行"},
		{"623052", "中国农业银行"},
	}
)

// rng is SplitMix64: small, fast, and good enough to scatter test data.
type rng uint64

// newRNG returns the generator of stream s of row i.
func newRNG(seed, i, s uint64) *rng {
	g := rng(mix(seed) ^ mix(i<<2|s))
	return &g
}

func (g *rng) next() uint64 {
	*g += 0x9e3779b97f4a7c15
	return mix(uint64(*g))
}

func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// intn returns a number in [0, n); the bias is negligible for small n.
func (g *rng) intn(n uint64) uint64 { return g.next() % n }

// float returns a number in [0, 1).
func (g *rng) float() float64 { return float64(g.next()>>11) / (1 << 53) }
