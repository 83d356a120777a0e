#[test]
fn search_pages_follow_the_continue_token_to_an_empty_one() {
    let paging = |limit: Option<usize>, token: Option<&str>| super::SearchPage {
        limit,
        offset: None,
        cursor: token.map(str::to_string),
    };
    let items: Vec<u32> = (0..5).collect();
    let (first, meta) = super::page(items.clone(), &paging(Some(2), None)).unwrap();
    assert_eq!(first, vec![0, 1]);
    assert_eq!(meta.count, Some(5));
    assert_eq!(meta.r#continue.as_deref(), Some("2"));
    let (second, meta) = super::page(items.clone(), &paging(Some(2), Some("2"))).unwrap();
    assert_eq!(second, vec![2, 3]);
    let (last, meta) =
        super::page(items.clone(), &paging(Some(2), meta.r#continue.as_deref())).unwrap();
    assert_eq!(last, vec![4]);
    assert_eq!(meta.r#continue.as_deref(), Some(""));
    // Without a limit, one page, as before.
    let (all, meta) = super::page(items.clone(), &paging(None, None)).unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(meta.r#continue.as_deref(), Some(""));
    assert!(super::page(items, &paging(Some(2), Some("x"))).is_err());
}

#[test]
fn cluster_names_are_dns_labels() {
    for ok in ["a", "apps-dc1", "x0", &"a".repeat(32)] {
        assert!(super::is_dns_label(ok, 32), "{ok}");
    }
    for bad in ["", "-a", "a-", "Apps", "a_b", "a.b", &"a".repeat(33)] {
        assert!(!super::is_dns_label(bad, 32), "{bad}");
    }
}
