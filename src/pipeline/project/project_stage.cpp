#include "pipeline/project/project_stage.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/expr/expression.hpp"
#include "pipeline/project/field_paths.hpp"

namespace weir::pipeline {
namespace {

constexpr std::string_view kId = "_id";

// One entry of the spec after nested objects are flattened: {"a": {"b": 1}} is "a.b": 1.
struct Entry {
  enum class Kind : uint8_t { kInclude, kExclude, kComputed };
  FieldPath path;
  Kind kind;
  std::string config_path;
  std::unique_ptr<Expression> expr;  // kComputed
};

// The inclusion projection as a tree of field names.
struct ProjectionNode {
  enum class Kind : uint8_t { kInclude, kComputed, kNested };
  struct Child {
    std::string name;
    Kind kind;
    size_t computed = 0;                     // kComputed: index of its result
    std::unique_ptr<ProjectionNode> nested;  // kNested
  };

  const Child* find(std::string_view name) const noexcept {
    for (const auto& c : children) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
  Child* find(std::string_view name) noexcept {
    for (auto& c : children) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  std::vector<Child> children;
  bool has_computed = false;  // a computed field at or below this node
};

class ProjectStage final : public Operator {
 public:
  // Exclusion.
  explicit ProjectStage(std::vector<FieldPath> excluded) : excluded_(std::move(excluded)) {}
  // Inclusion.
  ProjectStage(std::unique_ptr<ProjectionNode> root,
               std::vector<std::unique_ptr<Expression>> computed, bool keep_id)
      : inclusion_(true),
        keep_id_(keep_id),
        root_(std::move(root)),
        computed_(std::move(computed)),
        results_(computed_.size()),
        present_(computed_.size(), 0) {}

  StageResult process(Record& record, StageContext& ctx) override {
    (void)ctx;
    if (!inclusion_) {
      for (const auto& path : excluded_) remove_path(record.doc, path);
      return StageResult::kPass;
    }
    // Computed fields see the incoming record; evaluate them before moving fields out.
    for (size_t k = 0; k < computed_.size(); ++k) {
      Value& slot = results_[k];
      slot = Value();
      const Value& v = computed_[k]->eval(record.doc, slot);
      present_[k] = is_missing(v) ? 0 : 1;
      if (&v != &slot && present_[k]) slot = v;
    }
    Value out = project_object(*root_, record.doc, true, true);
    record.doc = std::move(out);
    return StageResult::kPass;
  }

 private:
  // Builds the projection of in (an object), moving included fields out of it. once: the
  // computed results are used only here (not inside an array), so they can be moved.
  Value project_object(const ProjectionNode& node, Value& in, bool is_root, bool once) {
    Value out = Value::object();
    bool id_first = is_root && keep_id_;
    if (id_first) {
      if (Value* id = in.find(kId)) out.set(kId, std::move(*id));
    }
    for (size_t i = 0; i < in.size(); ++i) {
      const std::string& key = in.key(i);
      if (id_first && key == kId) continue;  // already moved
      const ProjectionNode::Child* child = node.find(key);
      if (child == nullptr) continue;
      Value& v = in.at(i);
      if (child->kind == ProjectionNode::Kind::kInclude) {
        out.set(key, std::move(v));
      } else if (child->kind == ProjectionNode::Kind::kNested) {
        if (v.is_object()) {
          out.set(key, project_object(*child->nested, v, false, once));
        } else if (v.is_array()) {
          out.set(key, project_array(*child->nested, v));
        }
        // A scalar where sub-fields are projected is dropped (or replaced just below when
        // the sub-projection computes fields).
      }
    }
    for (const auto& child : node.children) {
      if (child.kind == ProjectionNode::Kind::kComputed) {
        if (!present_[child.computed]) continue;
        Value& result = results_[child.computed];
        out.set(child.name, once ? std::move(result) : Value(result));
      } else if (child.kind == ProjectionNode::Kind::kNested && child.nested->has_computed &&
                 out.find(child.name) == nullptr) {
        Value empty = Value::object();
        out.set(child.name, project_object(*child.nested, empty, false, once));
      }
    }
    return out;
  }

  Value project_array(const ProjectionNode& node, Value& in) {
    Value out = Value::array();
    for (size_t i = 0; i < in.size(); ++i) {
      Value& e = in.at(i);
      if (e.is_object()) {
        out.push_back(project_object(node, e, false, false));
      } else if (e.is_array()) {
        out.push_back(project_array(node, e));
      } else if (node.has_computed) {
        Value empty = Value::object();
        out.push_back(project_object(node, empty, false, false));
      }
      // Other scalars are dropped, as in MongoDB's inclusion projection.
    }
    return out;
  }

  bool inclusion_ = false;
  bool keep_id_ = false;
  std::vector<FieldPath> excluded_;
  std::unique_ptr<ProjectionNode> root_;
  std::vector<std::unique_ptr<Expression>> computed_;
  std::vector<Value> results_;    // per computed field, reused from record to record
  std::vector<uint8_t> present_;  // 0: the computed value is missing
};

bool has_operator_key(const config::Json& j) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.key().empty() && it.key()[0] == '$') return true;
  }
  return false;
}

void flatten(const config::Node& spec, const std::string& prefix, std::vector<Entry>& out) {
  for (auto it = spec.json().begin(); it != spec.json().end(); ++it) {
    config::Node child(it.value(), spec.path() + "/" + config::pointer_escape(it.key()));
    std::string dotted = prefix.empty() ? it.key() : prefix + "." + it.key();
    FieldPath path = parse_field_path(dotted, child);
    const auto& j = it.value();
    if (j.is_boolean() || j.is_number()) {
      bool include = j.is_boolean() ? j.get<bool>() : j.get<double>() != 0.0;
      out.push_back({std::move(path), include ? Entry::Kind::kInclude : Entry::Kind::kExclude,
                     child.path(), nullptr});
    } else if (j.is_object() && j.empty()) {
      child.fail("1, 0, true, false, an expression or a non-empty object of sub-fields");
    } else if (j.is_object() && !has_operator_key(j)) {
      flatten(child, dotted, out);
    } else {
      out.push_back(
          {std::move(path), Entry::Kind::kComputed, child.path(), compile_expression(child)});
    }
  }
}

std::unique_ptr<Operator> build_inclusion(std::vector<Entry>& entries, bool keep_id) {
  auto root = std::make_unique<ProjectionNode>();
  std::vector<std::unique_ptr<Expression>> computed;
  for (auto& e : entries) {
    // Exclusions here are of _id only; a plain _id inclusion is keep_id.
    if (e.kind == Entry::Kind::kExclude) continue;
    if (e.kind == Entry::Kind::kInclude && keep_id && e.path.str() == kId) continue;
    const auto& parts = e.path.parts();
    ProjectionNode* node = root.get();
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (e.kind == Entry::Kind::kComputed) node->has_computed = true;
      ProjectionNode::Child* child = node->find(parts[i]);
      if (child == nullptr) {
        node->children.push_back(
            {parts[i], ProjectionNode::Kind::kNested, 0, std::make_unique<ProjectionNode>()});
        child = &node->children.back();
      }
      node = child->nested.get();  // paths do not collide: an inner name is always kNested
    }
    if (e.kind == Entry::Kind::kComputed) {
      node->has_computed = true;
      node->children.push_back(
          {parts.back(), ProjectionNode::Kind::kComputed, computed.size(), nullptr});
      computed.push_back(std::move(e.expr));
    } else {
      node->children.push_back({parts.back(), ProjectionNode::Kind::kInclude, 0, nullptr});
    }
  }
  return std::make_unique<ProjectStage>(std::move(root), std::move(computed), keep_id);
}

}  // namespace

const ComponentInfo& project_info() {
  static const ComponentInfo kInfo{
      "$project",
      "Keeps only the named fields ({\"device\": 1, \"temp\": 1}) and computed ones "
      "({\"tempF\": <expression>}), or removes the named fields ({\"debug\": 0}). _id is "
      "kept unless {\"_id\": 0}; inclusions and exclusions (other than _id) do not mix.",
      {}};
  return kInfo;
}

std::unique_ptr<Operator> make_project(const config::Node& spec, const StageBuildContext& ctx) {
  (void)ctx;
  spec.expect_object();
  if (spec.size() == 0) spec.fail("an object with at least one field such as {\"temp\": 1}");
  std::vector<Entry> entries;
  flatten(spec, "", entries);

  const Entry* included = nullptr;  // first inclusion or computed field other than _id
  const Entry* excluded = nullptr;  // first exclusion other than _id
  bool id_projected = false;        // _id is computed or has sub-fields projected
  bool id_excluded = false;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    for (size_t k = 0; k < i; ++k) {
      if (paths_collide(e.path, entries[k].path)) {
        throw config::ConfigError(e.config_path, "path \"" + e.path.str() + "\" collides with \"" +
                                                     entries[k].path.str() + "\"");
      }
    }
    if (e.path.str() == kId && e.kind != Entry::Kind::kComputed) {
      id_excluded = e.kind == Entry::Kind::kExclude;
      continue;
    }
    id_projected = id_projected || e.path.parts().front() == kId;  // "_id.a", computed _id
    const Entry*& mine = e.kind == Entry::Kind::kExclude ? excluded : included;
    const Entry* other = e.kind == Entry::Kind::kExclude ? included : excluded;
    if (other != nullptr) {
      const Entry& incl = e.kind == Entry::Kind::kExclude ? *other : e;
      const Entry& excl = e.kind == Entry::Kind::kExclude ? e : *other;
      throw config::ConfigError(
          e.config_path, "\"" + excl.path.str() + "\" is excluded but \"" + incl.path.str() +
                             "\" is " +
                             (incl.kind == Entry::Kind::kComputed ? "computed" : "included") +
                             ": a $project either keeps the fields it names or removes them "
                             "(only _id may be excluded from an inclusion)");
    }
    if (mine == nullptr) mine = &e;
  }

  bool inclusion = included != nullptr || (excluded == nullptr && !id_excluded);
  if (!inclusion) {
    std::vector<FieldPath> paths;
    for (const auto& e : entries) {
      if (e.kind == Entry::Kind::kExclude) paths.push_back(e.path);
    }
    return std::make_unique<ProjectStage>(std::move(paths));
  }
  return build_inclusion(entries, !id_excluded && !id_projected);
}

}  // namespace weir::pipeline
