package juhe

import "github.com/cardverify/cardverify/pipeline"

// Code is one error_code of the vendor's document with the way cardverify
// treats it.
type Code struct {
	// Code is the error_code as the API sends it; 0 is success.
	Code int
	// Meaning is the vendor's text for the code, verbatim (Chinese).
	Meaning string
	// Class is how the pipeline treats an answer with this code.
	Class pipeline.Class
	// Hint says, in English, what the user should do about a Fatal code;
	// empty for the other classes.
	Hint string
}

// Codes is the whole error-code table of the vendor's document
// (银行卡二元素检测, version 2025-02-17), plus 0 for success, in the
// document's order. The classes follow DESIGN.md "Statuses and the error-code
// table". Callers must not modify it.
var Codes = []Code{
	{0, "成功", pipeline.Billed, ""},

	// Service-level codes (服务级错误码).
	{218801, "数据源超时", pipeline.Transient, ""},
	{218804, "银行卡号不合法 同一银行卡请求过于频繁", pipeline.Reject, ""},
	{218805, "姓名不合法", pipeline.Reject, ""},
	{218806, "认证失败", pipeline.Reject, ""},
	{218808, "参数错误", pipeline.Reject, ""},
	{218866, "认证失败,该卡当日连续多次认证不通过被限制校验,次日恢复", pipeline.Defer, ""},

	// System-level codes (系统级错误码).
	{10001, "错误的请求KEY", pipeline.Fatal, "check JUHE_KEY: the API does not know this key"},
	{10002, "该KEY无请求权限", pipeline.Fatal, "this key may not call the bank card two-element API: enable the API for it in the Juhe console, or check JUHE_KEY"},
	{10003, "KEY过期", pipeline.Fatal, "the key has expired: renew it in the Juhe console and update JUHE_KEY"},
	{10004, "错误的OPENID", pipeline.Fatal, "check JUHE_OPENID (the openid of the Juhe account, needed by --endpoint encrypted)"},
	{10005, "应用未审核超时，请提交认证", pipeline.Fatal, "the application was not approved in time: submit the verification in the Juhe console"},
	{10007, "未知的请求源", pipeline.Fatal, "the API does not recognise where the request comes from: check the account's settings in the Juhe console"},
	{10008, "被禁止的IP", pipeline.Fatal, "this machine's IP address is banned: check the IP whitelist in the Juhe console"},
	{10009, "被禁止的KEY", pipeline.Fatal, "the key is banned: contact Juhe support"},
	{10011, "当前IP请求超过限制", pipeline.Throttle, ""},
	{10012, "请求超过次数限制", pipeline.Fatal, "the key's request quota is used up: buy more calls in the Juhe console, then run the same command to resume"},
	{10013, "测试KEY超过请求限制", pipeline.Fatal, "the test key's quota is used up: use a production key in JUHE_KEY"},
	{10014, "系统内部异常(调用充值类业务时，请务必联系客服或通过订单查询接口检测订单，避免造成损失)", pipeline.Transient, ""},
	{10020, "接口维护", pipeline.Transient, ""},
	{10021, "接口停用", pipeline.Fatal, "the API is discontinued for this key: contact Juhe support"},
}

// Lookup returns the entry of Codes for code. An unknown code is not in the
// table: callers treat it as Transient (Verify does).
func Lookup(code int) (Code, bool) {
	for _, c := range Codes {
		if c.Code == code {
			return c, true
		}
	}
	return Code{}, false
}
