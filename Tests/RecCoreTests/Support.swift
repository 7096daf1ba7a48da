import Testing
// What every test of this target shares (a temporary folder, plain file writes, hostile text).
@_exported import RecTestSupport
