//! The web front door in the template (WebFrontDoor): a private bucket read only by the
//! distribution, `/api/*` to the HTTP API uncached with every header, cookie and query but
//! Host, the app's routes answered with `index.html` by the viewer-request function (run
//! here with Node.js, as CloudFront's JavaScript runtime would), API errors left alone.

use bedrud_tests::template::template;
use serde_yaml_ng::Value;

const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
const ALL_VIEWER_EXCEPT_HOST: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

fn tag(v: &Value) -> String {
    format!("{v:?}")
}

#[test]
fn every_front_door_resource_is_behind_the_parameter() {
    let t = template();
    assert_eq!(
        t["Parameters"]["WebFrontDoor"]["Default"].as_str(),
        Some("false")
    );
    for name in [
        "WebBucket",
        "WebBucketPolicy",
        "WebOriginAccess",
        "WebAppRoutes",
        "WebDistribution",
    ] {
        assert_eq!(
            t["Resources"][name]["Condition"].as_str(),
            Some("FrontDoor"),
            "{name}"
        );
    }
    for name in ["WebUrl", "WebBucketName", "WebDistributionId"] {
        assert_eq!(t["Outputs"][name]["Condition"].as_str(), Some("FrontDoor"));
    }
}

#[test]
fn the_bucket_is_private_and_read_only_by_the_distribution() {
    let t = template();
    let block = &t["Resources"]["WebBucket"]["Properties"]["PublicAccessBlockConfiguration"];
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[k].as_bool(), Some(true), "{k}");
    }
    let statements = t["Resources"]["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone();
    let [only] = statements.try_into().unwrap();
    assert_eq!(
        only["Principal"]["Service"].as_str(),
        Some("cloudfront.amazonaws.com")
    );
    assert_eq!(only["Action"].as_str(), Some("s3:GetObject"));
    let source = tag(&only["Condition"]["StringEquals"]["AWS:SourceArn"]);
    assert!(
        source.contains("distribution/${WebDistribution}"),
        "{source}"
    );
    let access = &t["Resources"]["WebOriginAccess"]["Properties"]["OriginAccessControlConfig"];
    assert_eq!(access["SigningBehavior"].as_str(), Some("always"));
}

#[test]
fn api_goes_to_the_http_api_uncached_and_everything_else_to_the_bucket() {
    let t = template();
    let d = &t["Resources"]["WebDistribution"]["Properties"]["DistributionConfig"];
    let origins = d["Origins"].as_sequence().unwrap();
    let origin = |id: &str| {
        origins
            .iter()
            .find(|o| o["Id"].as_str() == Some(id))
            .unwrap()
            .clone()
    };
    assert!(tag(&origin("api")["DomainName"]).contains("${HttpApi}.execute-api"));
    assert_eq!(
        origin("api")["CustomOriginConfig"]["OriginProtocolPolicy"].as_str(),
        Some("https-only")
    );
    assert!(tag(&origin("web")["OriginAccessControlId"]).contains("WebOriginAccess"));

    let behaviors = d["CacheBehaviors"].as_sequence().unwrap();
    let [api] = behaviors.clone().try_into().unwrap();
    assert_eq!(api["PathPattern"].as_str(), Some("/api/*"));
    assert_eq!(api["TargetOriginId"].as_str(), Some("api"));
    assert_eq!(api["CachePolicyId"].as_str(), Some(CACHING_DISABLED));
    assert_eq!(
        api["OriginRequestPolicyId"].as_str(),
        Some(ALL_VIEWER_EXCEPT_HOST)
    );
    let methods: Vec<&str> = api["AllowedMethods"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        assert!(methods.contains(&m), "{m}");
    }
    assert!(
        api.get("FunctionAssociations").is_none(),
        "API paths are never rewritten"
    );
    assert!(
        d.get("CustomErrorResponses").is_none(),
        "error pages would turn the API's JSON errors into HTML"
    );
    let default = &d["DefaultCacheBehavior"];
    assert_eq!(default["TargetOriginId"].as_str(), Some("web"));
    assert_eq!(
        default["ViewerProtocolPolicy"].as_str(),
        Some("redirect-to-https")
    );
    let f = &default["FunctionAssociations"][0];
    assert_eq!(f["EventType"].as_str(), Some("viewer-request"));
    assert!(tag(&f["FunctionARN"]).contains("WebAppRoutes"));
}

/// The function as CloudFront runs it: `handler(event)` on each viewer request.
#[test]
fn app_routes_get_index_html_and_files_stay_files() {
    let t = template();
    let code = t["Resources"]["WebAppRoutes"]["Properties"]["FunctionCode"]
        .as_str()
        .unwrap()
        .to_string();
    let cases = [
        ("/", "/index.html"),
        ("/rooms/abc-defg-hij", "/index.html"),
        ("/auth/verify", "/index.html"),
        ("/index.html", "/index.html"),
        ("/assets/app-3f2a.js", "/assets/app-3f2a.js"),
        ("/favicon.ico", "/favicon.ico"),
    ];
    let script = format!(
        "{code}\nconst uris = {};\nconsole.log(JSON.stringify(uris.map(u => handler({{request: {{uri: u, method: 'GET', headers: {{}}}}}}).uri)));\n",
        serde_json::to_string(&cases.iter().map(|c| c.0).collect::<Vec<_>>()).unwrap()
    );
    let out = std::process::Command::new("node")
        .args(["-e", &script])
        .output()
        .expect("node (the machine's Node.js) runs the CloudFront function");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    let want: Vec<&str> = cases.iter().map(|c| c.1).collect();
    assert_eq!(got, want);
}
