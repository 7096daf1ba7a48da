import Foundation
import RecCore
import RecModels

extension Report {
    /// `<section id="rating-candidates">`: the rating models that competed on the validation
    /// slice, each with its validation and test RMSE and blend weight, and the chosen one (a
    /// blend or one candidate). The test figures were measured after the choice.
    static func ratingCandidatesSection(_ c: JSONValue) -> String {
        func number(_ v: JSONValue?) -> String { v?.doubleValue.map { String(format: "%.4f", $0) } ?? "–" }
        var out = "<section id=\"rating-candidates\">\n<h2>Rating model chosen on validation</h2>\n"
        let chosen = c["chosen"]?.stringValue ?? "?"
        out += "<p class=\"choice\">Chosen on the validation slice: <strong>\(HTML.escape(chosen))</strong>"
        out += " (validation RMSE \(number(c["validationRMSE"])), test RMSE \(number(c["testRMSE"]))). "
        out += "Every candidate was fitted on the train slice; the choice and the blend weights were made on its validation predictions; the test slice was read once, after the choice, for the figures below.</p>\n"
        out += "<div class=\"scroll\">\n<table id=\"rating-candidates-table\">\n<tr><th>candidate</th><th>validation RMSE</th><th>test RMSE</th><th>test MAE</th><th>blend weight</th></tr>\n"
        if case .array(let list)? = c["candidates"] {
            for x in list {
                let name = x["name"]?.stringValue ?? "?"
                let cls = name == chosen ? " class=\"chosen\"" : ""
                out += "<tr\(cls)><td>\(HTML.escape(name))</td><td>\(number(x["validationRMSE"]))</td><td>\(number(x["testRMSE"]))</td><td>\(number(x["testMAE"]))</td><td>\(number(x["weight"]))</td></tr>\n"
            }
        }
        out += "<tr class=\"model\"><td>chosen: \(HTML.escape(chosen))</td><td>\(number(c["validationRMSE"]))</td><td>\(number(c["testRMSE"]))</td><td>\(number(c["testMAE"]))</td><td>intercept \(number(c["intercept"]))</td></tr>\n"
        out += "</table>\n</div>\n</section>\n"
        return out
    }
}
