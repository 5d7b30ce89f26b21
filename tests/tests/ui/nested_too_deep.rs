// Requirements nest at most 32 levels: the run-time parser, which reads the manifest text that
// step-up challenges and the access matrix come from, refuses deeper text.

#[derive(Clone)]
struct Server;

#[mcp_rbac::tool_router]
impl Server {
    #[tool(requires = any("Level0.Read", all("Level1.Read", any("Level2.Read", all("Level3.Read", any("Level4.Read", all("Level5.Read", any("Level6.Read", all("Level7.Read", any("Level8.Read", all("Level9.Read", any("Level10.Read", all("Level11.Read", any("Level12.Read", all("Level13.Read", any("Level14.Read", all("Level15.Read", any("Level16.Read", all("Level17.Read", any("Level18.Read", all("Level19.Read", any("Level20.Read", all("Level21.Read", any("Level22.Read", all("Level23.Read", any("Level24.Read", all("Level25.Read", any("Level26.Read", all("Level27.Read", any("Level28.Read", all("Level29.Read", any("Level30.Read", all("Level31.Read", any("Level32.Read", "Admin.Write"))))))))))))))))))))))))))))))))))]
    async fn delete_product(&self) -> String {
        "deleted".into()
    }
}

fn main() {}
