package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// The help of a subcommand's flags ("cardverify run -h"), in the user's
// language. The English text is each flag's own usage, where it is
// registered; the Chinese one is here, by "command/flag" where a flag
// means something else in one command, else by flag name.
// TestFlagHelpOneLanguage fails for a flag without one.
var flagHelpZH = map[string]string{
	"base-url":         "接口地址",
	"card-col":         "银行卡号所在列：表头文字、列字母或从 1 开始的列号",
	"cpuprofile":       "把 CPU 性能剖析写入该文件（供开发者使用）",
	"db":               "检查点路径",
	"dry-run":          "只读取并校验名单、写出输出文件，不调用接口",
	"encoding":         "CSV 的文字编码（utf-8、gbk、gb18030、utf-16le、utf-16be）；默认自动识别",
	"endpoint":         "接口类型：plain（普通）或 encrypted（AES 加密）",
	"header-row":       "表头所在行，从 1 开始（默认自动识别）",
	"history":          "核验历史库的路径，可由多个任务共用（默认：用户数据目录下的 cardverify/history.db）",
	"import":           "导入该检查点中的真实核验结果（可重复给出）",
	"json":             "以 JSON 输出",
	"key":              "接口密钥（默认取环境变量 $JUHE_KEY）",
	"key-file":         "检查点的指纹密钥文件（默认：用户配置目录下的 cardverify/fingerprint.key）",
	"lang":             "输出文件的语言：zh（中文）或 en（英文）",
	"mask-card":        "输出文件中的银行卡号只显示前 6 位和后 4 位",
	"max-attempts":     "每行最多调用几次，之后的临时性失败即为最终结果",
	"max-billed":       "整个任务的计费次数达到该数目前停止（0：不限）",
	"max-duration":     "运行这么久后平稳停止（例如 6h）",
	"name-col":         "姓名所在列：表头文字、列字母或从 1 开始的列号",
	"openid":           "加密接口的 openid（默认取环境变量 $JUHE_OPENID）",
	"out":              "输出文件路径（.xlsx、.csv 或 .tsv）；默认：输入文件名加 .verified",
	"price":            "每次计费调用的单价（元），用于汇总页中的费用",
	"progress":         "进度显示：bar（进度条）、plain（逐行文字）或 none（不显示）；默认：终端上用 bar，否则用 plain",
	"purge-older-than": "删除早于该时长的核验结果（例如 90d）",
	"qps":              "每秒最多调用次数",
	"retry-deferred":   "今天就再次发送此前被推迟的行",
	"retry-failed":     "再次发送此前运行中失败的行",
	"reuse-within":     "某对姓名与卡号在该时长内核验过时，沿用历史中的结果，不再付费调用（例如 30d；默认不沿用）",
	"sandbox":          "使用内置的模拟接口（无需密钥，不计费，结果并非真实核验）",
	"sheet":            "工作簿中的工作表名称或序号（默认：第一个可见的工作表）",
	"stop-at":          "在中国时间（北京时间）的这个时刻平稳停止，格式 HH:MM",
	"timeout":          "单次调用的超时时间",
	"workers":          "并发调用数（默认：自动增加，直到再多也不能提速，最多为 --qps 在实测延迟下所需的数目）",

	"run/db":             "检查点路径；默认：输入文件名加 .cardverify.db",
	"status/lang":        "报告的语言：zh 或 en",
	"audit/lang":         "报告的语言：zh 或 en",
	"history/lang":       "语言：zh 或 en",
	"history/history":    "核验历史库的路径（默认：用户数据目录下的 cardverify/history.db）",
	"export/out":         "输出文件路径（.xlsx、.csv 或 .tsv）",
	"export/mask-card":   "银行卡号只显示前 6 位和后 4 位",
	"serve/addr":         "监听地址；非本机回环地址时必须给出 --password-env",
	"serve/data":         "存放任务的目录（默认：用户配置目录下的 cardverify/console）",
	"serve/password-env": "存放控制台密码的环境变量名",
	"serve/max-upload":   "上传文件的大小上限（MiB）",
	"serve/lang":         "serve 在终端上的提示语言，也是输出文件的默认语言：zh 或 en（每个网页另有切换）",
	"serve/price":        "每次计费调用的单价（元），用于显示任务最多花费多少",
	"sandbox/addr":       "监听地址",
	"sandbox/openid":     "解密加密接口请求所用的 openid",
	"sandbox/key":        "只接受这个密钥（默认：任何密钥）",
	"sandbox/latency":    "每次应答前的延迟",
	"sandbox/fail-rate":  "以 --fail-code 应答的比例（0 到 1）",
	"sandbox/fail-code":  "按 --fail-rate 应答的 error_code",
	"sandbox/qps-limit":  "每秒请求超过该数目时应答 10011（0：不限）",
	"sandbox/seed":       "随机故障和单号的种子",
}

// zhUsage is the Chinese help of cmd's flag name: its own, else the
// flag's in every command.
func zhUsage(cmd, name string) (string, bool) {
	if zh, ok := flagHelpZH[cmd+"/"+name]; ok {
		return zh, true
	}
	zh, ok := flagHelpZH[name]
	return zh, ok
}

// placeholderZH names a flag's value in Chinese: the back-quoted word of
// its English usage, or the name of its type.
var placeholderZH = map[string]string{
	"path": "路径", "file": "文件", "address": "地址", "directory": "目录", "variable": "变量",
	"yuan": "元", "YUAN": "元", "NAME or N": "名称或序号", "string": "文本", "int": "整数",
	"float": "数值", "duration": "时长", "value": "值",
}

// synopsis is what follows "cardverify CMD" on the first line of its help.
var synopsis = map[string]string{"run": "INPUT", "export": "INPUT", "audit": "OUTPUT"}

// printFlagHelp writes the help of cmd's flags fs to w in lang.
func printFlagHelp(w io.Writer, lang, cmd string, fs *flag.FlagSet) {
	line := strings.TrimSpace("cardverify " + cmd + " " + synopsis[cmd])
	if lang == "en" {
		fmt.Fprintf(w, "Usage: %s [flags]\n\nFlags:\n", line)
	} else {
		fmt.Fprintf(w, "用法：%s [参数]\n\n参数：\n", line)
	}
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		if lang != "en" {
			if zh, ok := zhUsage(cmd, f.Name); ok {
				usage = zh
			}
			if p, ok := placeholderZH[name]; ok {
				name = p
			}
		}
		fmt.Fprintf(w, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintf(w, "\n    \t%s", usage)
		switch d := f.DefValue; {
		case d == "" || d == "0" || d == "false" || d == "0s":
		case lang == "en":
			fmt.Fprintf(w, " (default: %s)", d)
		default:
			fmt.Fprintf(w, "（默认：%s）", d)
		}
		fmt.Fprintln(w)
	})
}
