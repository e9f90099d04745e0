package web

import (
	"bytes"
	"fmt"
	"github.com/cardverify/cardverify/pipeline"
	"html/template"
	"net/http"

	"github.com/cardverify/cardverify/pipeline/msg"
)

// texts is the console's catalogue: every text a page shows, by code, in
// Chinese and English. Pages pass codes and parameters, never prose.
var texts = map[string][2]string{
	"title_new":      {"新建核验", "New job"},
	"title_preview":  {"核验预览", "Preview"},
	"title_jobs":     {"全部任务", "Jobs"},
	"title_job":      {"任务", "Job"},
	"title_summary":  {"汇总", "Summary"},
	"title_audit":    {"核对文件", "Audit"},
	"title_login":    {"登录", "Log in"},
	"title_error":    {"出错了", "Something went wrong"},
	"nav_new":        {"新建核验", "New job"},
	"nav_jobs":       {"全部任务", "Jobs"},
	"logout":         {"退出登录", "Log out"},
	"sandbox_banner": {"模拟模式：结果来自内置的模拟接口，不是真实核验结果，也不产生费用。", "SANDBOX: answers come from the built-in simulated API. They are not real verdicts and cost nothing."},
	"sandbox_tag":    {"模拟", "sandbox"},

	"new_intro":    {"上传客户名单（CSV 或 Excel XLSX，每行一个姓名和银行卡号）。先免费预览：检查读取的列、无效行和需要付费的次数，确认后才开始核验。", "Upload a customer list (CSV or Excel XLSX, one name and bank card per row). You get a free preview first: the columns read, the invalid rows and the calls to pay for. Nothing is sent before you confirm."},
	"new_file":     {"选择文件", "Choose a file"},
	"new_limit":    {"支持 .csv .tsv .txt .xlsx，最大 %s MiB。预览会读完整个文件：百万行的名单约需半分钟。", "Accepted: .csv .tsv .txt .xlsx, at most %s MiB. The preview reads the whole file: about half a minute for a million rows."},
	"new_submit":   {"上传并预览", "Upload and preview"},
	"new_privacy":  {"页面上不显示任何卡号；下载的结果文件保留上传文件的全部内容（可在预览中选择隐藏卡号中间位）。", "Pages show no card number; the downloaded workbook carries what you uploaded (or masked cards, if you tick it on the preview)."},
	"file":         {"文件", "File"},
	"format":       {"格式", "Format"},
	"sheet":        {"工作表", "Sheet"},
	"header_row":   {"表头行", "Header row"},
	"name_col":     {"姓名列", "Name column"},
	"card_col":     {"卡号列", "Card column"},
	"sheet_hint":   {"名称或序号，留空为第一个", "name or number; empty: the first"},
	"auto":         {"自动", "auto"},
	"mask_card":    {"结果文件中也隐藏卡号中间位", "Mask cards in the output file too"},
	"preview_redo": {"按以上设置重新预览", "Preview again with these settings"},
	"layout_found": {"读取方式", "How the file is read"},
	"counts":       {"行数", "Rows"},
	"rows":         {"数据行", "Data rows"},
	"valid":        {"有效行", "Valid rows"},
	"invalid":      {"无效行（不发送，不收费）", "Invalid rows (not sent, no cost)"},
	"duplicates":   {"重复行（与前面某行相同，不重复收费）", "Duplicates (same pair as an earlier row, not paid twice)"},
	"calls_to_pay": {"需付费的调用次数（最多）", "Calls to pay for (at most)"},
	"most_cost":    {"最多费用", "The most it can cost"},
	"price_each":   {"按每次 ¥%s 计", "at ¥%s a call"},
	"no_price":     {"未设置单价（启动 serve 时加 --price 可显示费用）", "no price given (start serve with --price to see the cost)"},
	"reason":       {"原因", "Reason"},
	"count":        {"行数", "Rows"},
	"row_numbers":  {"行号", "Row numbers"},
	"more_rows":    {"等，共 %d 行", "… %d in all"},
	"dup_of":       {"第 %d 行与第 %d 行相同", "row %d repeats row %d"},
	"no_invalid":   {"没有无效行。", "No invalid row."},
	"start":        {"开始核验", "Start"},
	"confirm":      {"我确认：最多付费调用 %d 次%s。", "I confirm: at most %d paid calls%s."},
	"confirm_cost": {"，最多 ¥%s", ", at most ¥%s"},
	"sandbox_free": {"（模拟模式，不产生费用）", " (sandbox: no cost)"},
	"previewing":   {"正在读取并检查整个文件，页面会自动刷新……", "Reading and checking the whole file; this page refreshes by itself…"},
	"preview_err":  {"无法读取这个文件", "This file cannot be read"},

	"state":         {"状态", "State"},
	"state_draft":   {"未开始", "not started"},
	"state_queued":  {"排队中", "queued"},
	"state_running": {"运行中", "running"},
	"state_stopped": {"已停止", "stopped"},
	"state_done":    {"已完成", "done"},
	"state_failed":  {"失败", "failed"},
	"created":       {"创建时间", "Created"},
	"progress":      {"进度", "Progress"},
	"no_jobs":       {"还没有任务。", "No job yet."},
	"open":          {"打开", "Open"},

	"rows_done":      {"已处理行", "Rows done"},
	"call_rate":      {"调用速率", "Calls per second"},
	"eta":            {"预计剩余", "Time left"},
	"calls":          {"调用次数", "Calls"},
	"billed":         {"已计费", "Billed"},
	"possibly":       {"可能计费（应答未完整收到）", "Possibly billed (answer not received intact)"},
	"simulated":      {"模拟调用（不计费）", "Simulated calls (not billed)"},
	"throttle":       {"限流", "Throttling"},
	"throttle_none":  {"无", "none"},
	"throttle_on":    {"接口限流，当前 %s 次/秒（设定 %s）", "the API throttles: now %s/s (asked %s/s)"},
	"per_s":          {"%s 次/秒", "%s/s"},
	"st_match":       {"一致", "match"},
	"st_mismatch":    {"不一致", "mismatch"},
	"st_invalid":     {"输入无效", "invalid"},
	"st_rejected":    {"被拒绝", "rejected"},
	"st_deferred":    {"次日重试", "deferred"},
	"st_failed":      {"失败", "failed"},
	"st_pending":     {"未完成", "pending"},
	"stop":           {"停止（等待进行中的调用完成）", "Stop (calls in flight finish)"},
	"resume":         {"继续", "Resume"},
	"retry_failed":   {"同时重试失败的行", "Also retry failed rows"},
	"download_xlsx":  {"下载结果 XLSX", "Download XLSX"},
	"download_csv":   {"下载结果 CSV", "Download CSV"},
	"summary_link":   {"查看汇总", "Summary"},
	"audit_link":     {"核对退回的文件", "Audit a returned file"},
	"log":            {"日志", "Log"},
	"message":        {"说明", "Note"},
	"confirmed":      {"已确认最多付费调用次数", "Paid calls confirmed (at most)"},
	"live_note":      {"页面自动更新。", "This page updates by itself."},
	"interrupt_note": {"serve 意外退出时，正在运行的任务会停下并等待你按“继续”；已完成的行不会重复付费。", "If serve ends unexpectedly, the running job waits for Resume; finished rows are never paid again."},

	"sum_input":    {"输入文件", "Input"},
	"sum_sha":      {"SHA-256", "SHA-256"},
	"sum_endpoint": {"接口", "Endpoint"},
	"sum_qps":      {"每秒调用上限", "QPS"},
	"sum_runs":     {"每次运行", "Runs"},
	"sum_stop":     {"结束原因", "Stop"},
	"sum_operator": {"运行者", "Run by"},
	"sum_start":    {"开始", "Start"},
	"sum_end":      {"结束", "End"},
	"sum_version":  {"版本", "Version"},
	"sum_codes":    {"错误码", "Error codes"},
	"sum_code":     {"错误码", "Code"},
	"sum_meaning":  {"含义", "Meaning"},
	"sum_sandbox":  {"模拟结果，不是真实核验结果", "simulated answers, not real verdicts"},
	"sum_real":     {"真实接口", "the real API"},
	"sum_mode":     {"结果来源", "Answers from"},

	"audit_intro":  {"上传从本任务下载、又被退回的结果文件（XLSX 或 CSV），检查其中的核验状态、结果码和单号是否与检查点记录一致。", "Upload a result file of this job that came back (XLSX or CSV) to check that its status, res and jobid still say what the checkpoint recorded."},
	"audit_submit": {"核对", "Audit"},
	"audit_ok":     {"一致：%d 行都与检查点记录相符。", "OK: all %d rows match the checkpoint."},
	"audit_diff":   {"%d 行中有 %d 行不一致：", "%[2]d of %[1]d rows differ:"},
	"row":          {"行", "Row"},
	"problem":      {"问题", "Problem"},

	"password":         {"密码", "Password"},
	"login":            {"登录", "Log in"},
	"login_intro":      {"此控制台可从其他电脑访问，请输入启动 serve 时设置的密码。", "This console can be reached from other machines: enter the password serve was started with."},
	"err_password":     {"密码不正确。", "Wrong password."},
	"err_login_rate":   {"登录尝试过多，请稍后再试。", "Too many login attempts: wait a minute and try again."},
	"err_login_needed": {"请先登录。", "Log in first."},
	"err_csrf":         {"表单已过期或来源不明（CSRF 校验失败）。请返回，刷新页面后重试。", "The form expired or did not come from this console (CSRF check failed). Go back, reload the page and try again."},
	"err_form":         {"无法读取提交的表单。", "The form sent could not be read."},
	"err_too_big":      {"文件太大：最大 %s MiB。请拆分名单后分别上传。", "The file is too large: at most %s MiB. Split the list and upload the parts."},
	"err_no_file":      {"请选择一个文件。", "Choose a file first."},
	"err_type":         {"不支持这种文件：请上传 .csv、.tsv、.txt 或 .xlsx（旧版 .xls 请先在 Excel 中另存为 .xlsx）。", "This kind of file is not accepted: upload a .csv, .tsv, .txt or .xlsx (save an old .xls as .xlsx in Excel first)."},
	"err_content":      {"文件内容与扩展名不符：%s 不是有效的 %s 文件。", "The content does not fit the extension: %s is not a valid %s file."},
	"err_not_found":    {"没有这个页面或任务。", "No such page or job."},
	"err_state":        {"任务当前状态下不能这样操作。", "Not possible in this job's state."},
	"err_confirm":      {"请勾选确认费用后再开始。", "Tick the confirmation of the cost before starting."},
	"err_changed":      {"预览已变化，请核对数字后重新确认。", "The preview changed: check the figure and confirm again."},
	"err_header_row":   {"表头行必须是 1 到 1000 之间的数字。", "The header row must be a number from 1 to 1000."},
	"err_internal":     {"内部错误：%s", "Internal error: %s"},
	"err_not_started":  {"任务尚未开始，还没有结果。", "The job has not started: there is no result yet."},
	"back":             {"返回", "Back"},

	"note_interrupted":    {"serve 在任务运行时退出了（崩溃或被终止）。已完成的行已保存，不会重复付费；按“继续”接着核验。", "serve ended while this job ran (a crash or a kill). Finished rows are saved and never paid again; press Resume to go on."},
	"note_stopped":        {"已按要求停止；进行中的调用已完成。按“继续”接着核验，已完成的行不会重复付费。", "Stopped as asked; the calls in flight finished. Press Resume to go on: finished rows are never paid again."},
	"note_serve_stopped":  {"serve 已停止（Ctrl-C），任务随之停下。重新启动 serve 后按“继续”接着核验。", "serve was stopped (Ctrl-C), and the job with it. Start serve again and press Resume to go on."},
	"note_stopped_queued": {"在开始前停止。", "Stopped before it started."},
	"log_uploaded":        {"已上传 %s", "uploaded %s"},
	"log_queued":          {"已排队：确认最多付费调用 %s 次", "queued: at most %s paid calls confirmed"},
	"log_started":         {"开始核验（接口 %s）", "started (endpoint %s)"},
	"log_done":            {"完成：%s 行，一致 %s，不一致 %s，输入无效 %s，被拒绝 %s，次日重试 %s，失败 %s；调用 %s 次，计费 %s 次", "done: %s rows, %s match, %s mismatch, %s invalid, %s rejected, %s deferred, %s failed; %s calls, %s billed"},
	"log_stopped":         {"已停止：%s", "stopped: %s"},
	"log_failed":          {"失败：%s", "failed: %s"},
	"log_stop_asked":      {"请求停止：等待进行中的调用完成", "stop asked: waiting for the calls in flight"},
	"log_resume":          {"请求继续", "resume asked"},
	"log_resume_failed":   {"请求继续，并重试失败的行", "resume asked, retrying failed rows"},
	"log_save_failed":     {"无法保存 job.json：%s", "cannot save job.json: %s"},
	"log_notice":          {"%s", "%s"},
}

// page is what every template gets: the language, the session's CSRF
// token, the sandbox mark, and the page's own data.
type page struct {
	Lang    string
	Title   string
	CSRF    string
	Sandbox bool
	Authed  bool
	Logout  bool
	Data    any
	// Refresh, when positive, reloads the page after that many seconds
	// (a meta refresh: no script needed).
	Refresh int
}

// Say renders a reason of the shared catalogue (pipeline/msg: invalid
// rows, audit problems) in the page's language.
func (p page) Say(reason string) string { return msg.Text(p.Lang, reason) }

// T returns the text of code in the page's language, formatted with args.
func (p page) T(code string, args ...any) string { return tr(p.Lang, code, args...) }

// tr returns the text of code in lang, formatted with args.
func tr(lang, code string, args ...any) string {
	t, ok := texts[code]
	if !ok {
		return code
	}
	s := t[0]
	if lang == "en" {
		s = t[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// langCookie remembers the language chosen with ?lang=.
const langCookie = "cardverify_lang"

// lang is the request's language: ?lang=zh|en (remembered in a cookie),
// else the cookie, else Chinese.
func lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "zh" || l == "en" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "zh" || c.Value == "en") {
		return c.Value
	}
	return "zh"
}

// pageNames are the templates under templates/, each with the layout.
var pageNames = []string{"new", "preview", "jobs", "job", "summary", "audit", "login", "error"}

func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(template.FuncMap{"china": pipeline.ChinaTime}).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes page name with data; title defaults to "title_"+name.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	sess := sessionOf(r)
	p := page{Lang: lang(w, r), Title: "title_" + name, CSRF: sess.csrf, Sandbox: s.opt.Sandbox,
		Authed: sess.authed, Logout: sess.authed && s.opt.Password != "", Data: data}
	if d, ok := data.(previewData); ok && d.Job.Previewing {
		p.Refresh = 1
	}
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, p); err != nil {
		s.log.Printf("render %s: %v", name, err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail renders the error page with the text of code.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code string, args ...any) {
	s.render(w, r, status, "error", map[string]any{"Msg": tr(lang(w, r), code, args...)})
}

// failText renders the error page with a message of package job (an
// input or API error, in English: it names the file or row and the fix).
func (s *Server) failText(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", map[string]any{"Msg": msg})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusNotFound, "err_not_found")
}

// mib formats a byte count in MiB.
func mib(n int64) string {
	return fmt.Sprintf("%d", n>>20)
}
