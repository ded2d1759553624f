/// The clerk's page (placeholder until written).
enum DeskPage {
    static let html = ""
    static let script = ""
    static let style = ""
}
enum DeskOpenAPI {
    static let document = ""
}
