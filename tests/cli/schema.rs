use crate::{gameday, repo};

#[test]
fn the_committed_schema_is_fresh() {
    let output = gameday(&["schema"]);
    assert_eq!(output.code, 0);
    let committed = std::fs::read_to_string(repo().join("docs/scenario.schema.json")).unwrap();
    assert!(output.stdout == committed, "docs/scenario.schema.json is stale: run `cargo run -- schema > docs/scenario.schema.json`");
}

#[test]
fn examples_point_editors_at_the_schema() {
    for entry in std::fs::read_dir(repo().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.starts_with("# yaml-language-server: $schema=../docs/scenario.schema.json"), "{} lacks the $schema line", path.display());
        }
    }
}
