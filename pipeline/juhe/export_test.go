package juhe

// DesignClasses is designClasses, the literal table of DESIGN.md, for the
// tests of package juhe_test: their expectations come from it, not from
// Codes, the table under test.
var DesignClasses = designClasses
